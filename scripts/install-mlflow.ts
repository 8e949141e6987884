/**
 * Part of `npm run tools:install`: MLflow (pinned, scripts/mlflow.ts) into .tools/mlflow, for the
 * MLflow registry tests, which start `mlflow server` from it. Idempotent; a failure names what was tried.
 */
import { installMlflow } from './mlflow.js';

const result = installMlflow();
if (result.ok) {
  console.log(result.message);
} else {
  console.error(`${result.message}\nThe MLflow registry tests install it on demand, or fail naming it.`);
  process.exitCode = 1;
}
