/**
 * Part of `npm run tools:install`: the scikit-learn example trainer's Python packages into
 * .tools/sklearn-trainer (pip --target, pinned by examples/trainers/sklearn/requirements.txt), so
 * that `npm test` does not spend a minute installing them; the test still installs them on demand
 * when they are missing. Idempotent: nothing to do while requirements.txt is unchanged.
 */
import { ensureSklearnDeps, TARGET_DIR } from '../examples/trainers/sklearn/install.js';

const deps = await ensureSklearnDeps({ log: (line) => console.log(line) });
if (deps.ok) {
  console.log(`scikit-learn example trainer: ${TARGET_DIR}`);
} else {
  // Not fatal for the product: only the example trainer's test needs them, and it says why it skips.
  console.error(`scikit-learn example trainer packages not installed: ${deps.reason}`);
}
