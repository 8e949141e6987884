/**
 * How `retrain` starts: the compiled dist/ answers on its own, without the heavy modules a command
 * does not need, and bin/retrain.js runs dist only while it was built from the sources as they are
 * (else the sources through tsx). The bin's choice is tested on a copy of the project, so nothing
 * here touches the real sources' times.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build, ensureBuilt, ROOT } from '../../scripts/build.js';
import { RETRAIN_BIN, runCli } from '../helpers/cli.js';

/** Packages that only some commands need; a start that loads one for no reason costs seconds. */
const HEAVY = ['@duckdb/node-api', '@temporalio/worker', 'webpack', 'fastify', 'tsx', 'esbuild'];

describe('retrain start-up', () => {
  let dir: string;
  let loadedHook: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'retrain-start-'));
    // A preload that lists, at exit, every CommonJS module the process loaded (all of HEAVY are CommonJS).
    loadedHook = path.join(dir, 'loaded.cjs');
    writeFileSync(loadedHook, "process.on('exit', () => require('node:fs').writeFileSync(process.env.RETRAIN_TEST_LOADED, Object.keys(require.cache).join('\\n')));\n");
    await ensureBuilt();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs dist/cli/main.js itself (the bin would fall back to tsx if src changed meanwhile) and returns the packages it loaded. */
  async function fromDist(args: string[], env: NodeJS.ProcessEnv = {}) {
    const list = path.join(dir, `loaded-${args.join('-')}.txt`);
    const result = await runCli(args, { RETRAIN_TEST_LOADED: list, ...env }, { cwd: ROOT, bin: path.join(ROOT, 'dist', 'cli', 'main.js'), nodeArgs: ['--require', loadedHook] });
    const packages = new Set([...readFileSync(list, 'utf8').matchAll(/node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/g)].map((m) => m[1].replace('\\', '/')));
    return { ...result, packages };
  }

  it('the built CLI answers --help with the commands, loading neither Temporal nor a compiler', async () => {
    const { code, stdout, stderr, packages } = await fromDist(['--help']);
    assert.equal(code, 0, stderr);
    for (const command of ['dev', 'worker', 'validate', 'doctor', 'trigger', 'status', 'models', 'ledger', 'report', 'backtest', 'serve', 'simulate']) {
      assert.match(stdout, new RegExp(`^  ${command}\\b`, 'm'), `help lists ${command}`);
    }
    const loaded = [...packages].filter((p) => HEAVY.includes(p) || p.startsWith('@temporalio/'));
    assert.deepEqual(loaded, []);
  });

  it('local commands from dist load no DuckDB, Temporal worker, webpack or Fastify', async () => {
    const env = { RETRAIN_DATA_DIR: path.join(dir, 'data') };
    for (const args of [['validate'], ['models', 'list'], ['ledger']]) {
      const { code, stderr, packages } = await fromDist(args, env);
      assert.equal(code, 0, `${args.join(' ')}: ${stderr}`);
      assert.deepEqual(HEAVY.filter((p) => packages.has(p)), [], args.join(' '));
    }
  });

  it('bin/retrain.js runs dist only while it matches the sources, else the sources through tsx', async () => {
    // A copy of the project whose CLI says where it runs from; node_modules is the real one (tsx).
    const copy = path.join(dir, 'project');
    for (const sub of ['bin', 'scripts', 'src/cli']) mkdirSync(path.join(copy, sub), { recursive: true });
    copyFileSync(RETRAIN_BIN, path.join(copy, 'bin', 'retrain.js'));
    copyFileSync(path.join(ROOT, 'scripts', 'build.ts'), path.join(copy, 'scripts', 'build.ts'));
    copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(copy, 'tsconfig.json'));
    writeFileSync(path.join(copy, 'package.json'), '{ "type": "module" }\n');
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'junction');
    const main = path.join(copy, 'src', 'cli', 'main.ts');
    writeFileSync(main, "process.stdout.write(import.meta.url.endsWith('.ts') ? 'source' : 'dist');\n");
    const from = async (env: NodeJS.ProcessEnv = {}) => {
      const { code, stdout, stderr } = await runCli([], env, { bin: path.join(copy, 'bin', 'retrain.js') });
      assert.equal(code, 0, stderr);
      return stdout;
    };

    assert.equal(await from(), 'source', 'no build yet');
    // build() writes the state with its own copy of sourceState: the bin must agree with it.
    await build(copy);
    assert.equal(await from(), 'dist', 'right after a build');
    assert.equal(await from({ RETRAIN_FROM_SOURCE: '1' }), 'source', 'RETRAIN_FROM_SOURCE=1');

    const later = statSync(main).mtimeMs / 1000 + 10;
    utimesSync(main, later, later);
    assert.equal(await from(), 'source', 'a source file newer than the build');
    await build(copy);
    assert.equal(await from(), 'dist', 'rebuilt');

    writeFileSync(path.join(copy, 'src', 'added.ts'), 'export {};\n');
    assert.equal(await from(), 'source', 'a source file added since the build');
  });
});
