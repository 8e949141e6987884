/**
 * Part of `npm run tools:install`: Ray (`ray[default]`, pinned in scripts/ray.ts) into the venv
 * .tools/ray, for the Ray training backend's tests, which would otherwise install it on demand
 * (about a minute). Idempotent: nothing to do when the pinned version is there.
 */
import { installRay } from './ray.js';

const result = installRay();
if (result.ok) {
  console.log(result.message);
} else {
  console.error(`Ray could not be installed; the Ray training backend's tests will try again and fail the same way: ${result.message}`);
  process.exitCode = 1;
}
