import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { planTests, serverNeed, testFiles } from '../../scripts/test-markers.js';

/**
 * `npm test` picks a file's Temporal server from its `// @server` marker (scripts/test-markers.ts),
 * not from its folder. A file that talks to Temporal without one would run among the pure tests,
 * two at a time, on the shared servers: time-skipping tests would move each other's clock. So a test
 * file that reaches a Temporal environment, itself or through a helper under test/, must declare it.
 */
const TEMPORAL_HELPER = path.resolve('test/helpers/temporal.ts');
const SERVER_STARTERS = [path.resolve('src/runtime/dev-server.ts')];
/** TestWorkflowEnvironment imported as a value (a type-only import starts nothing; MockActivityEnvironment needs no server). */
const TESTING_ENV = /^import\s+(?!type\b)\{[^}]*(?<!type )\bTestWorkflowEnvironment\b[^}]*\}\s*from\s+'@temporalio\/testing'/m;
const RELATIVE = /(?:from|import)\s+'(\.{1,2}\/[^']+)'/g;

function resolveImport(from: string, spec: string): string {
  const target = path.resolve(path.dirname(from), spec);
  return target.endsWith('.js') ? target.replace(/\.js$/, '.ts') : target;
}

/** How the file reaches Temporal (the first chain of imports found), or undefined. */
function temporalUse(file: string, seen = new Set<string>()): string | undefined {
  const full = path.resolve(file);
  if (seen.has(full) || !existsSync(full)) return undefined;
  seen.add(full);
  const text = readFileSync(full, 'utf8');
  if (TESTING_ENV.test(text)) return `${path.relative('.', full)} imports TestWorkflowEnvironment`;
  for (const [, spec] of text.matchAll(RELATIVE)) {
    const target = resolveImport(full, spec);
    if (target === TEMPORAL_HELPER || SERVER_STARTERS.includes(target)) return `${path.relative('.', full)} imports ${path.relative('.', target)}`;
    // Follow the tests' own helpers, not the product's sources.
    if (!target.startsWith(path.resolve('test') + path.sep)) continue;
    const via = temporalUse(target, seen);
    if (via) return via;
  }
  return undefined;
}

describe('test files declare the Temporal server they need', () => {
  const files = testFiles('test');

  it('every file that reaches a Temporal environment carries a // @server marker', () => {
    const unmarked = files.flatMap((file) => {
      if (serverNeed(readFileSync(file, 'utf8'), file) !== 'none') return [];
      const via = temporalUse(file);
      return via ? [`${file} (${via})`] : [];
    });
    assert.deepEqual(unmarked, [], 'add "// @server time-skipping", "// @server dev" or "// @server dev concurrent" to the first lines of these files');
  });

  it('every marker is well formed, and the run plan puts each file in one stream', () => {
    const plan = planTests(files); // throws on a malformed marker, naming the file
    const streams = [...plan.timeSkipping, ...plan.devServer, ...plan.devConcurrent, ...plan.pure];
    assert.equal(streams.length, files.length);
    assert.equal(new Set(streams).size, files.length);
  });

  it('reads the marker from the first lines only, and refuses an unknown server', () => {
    assert.equal(serverNeed('// @server time-skipping\nimport x from "y";'), 'time-skipping');
    assert.equal(serverNeed('import a from "a";\n// @server dev\n'), 'dev');
    assert.equal(serverNeed('// @server dev concurrent\n'), 'dev-concurrent');
    assert.equal(serverNeed('import a from "a";\n'), 'none');
    assert.equal(serverNeed(`${'\n'.repeat(20)}// @server dev\n`), 'none');
    assert.throws(() => serverNeed('// @server cloud\n', 'x.test.ts'), /x\.test\.ts: unknown server marker "\/\/ @server cloud"/);
    assert.throws(() => serverNeed('// @server dev sometimes\n', 'x.test.ts'), /unknown server marker/);
  });

  it('counts TestWorkflowEnvironment imported as a value, not as a type or MockActivityEnvironment', () => {
    assert.ok(TESTING_ENV.test("import { TestWorkflowEnvironment } from '@temporalio/testing';"));
    assert.ok(TESTING_ENV.test("import { MockActivityEnvironment, TestWorkflowEnvironment } from '@temporalio/testing';"));
    assert.ok(!TESTING_ENV.test("import type { TestWorkflowEnvironment } from '@temporalio/testing';"));
    assert.ok(!TESTING_ENV.test("import { type TestWorkflowEnvironment } from '@temporalio/testing';"));
    assert.ok(!TESTING_ENV.test("import { MockActivityEnvironment } from '@temporalio/testing';"));
  });
});
