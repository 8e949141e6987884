/**
 * The layers of src/ stay as drawn: dependency-cruiser checks the rules of .dependency-cruiser.cjs
 * over src/ (no upward import, activity types only in workflows, a pure domain, workflow ids that
 * load no workflow code, no cycle), and a small tree with one violation of each rule shows that
 * the check can fail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

/** Cruises `baseDir`/src under the project's rules and returns the violations. */
async function violationsIn(baseDir: string): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions(CONFIG);
  const tsConfigFile = path.join(baseDir, 'tsconfig.json');
  const result = await cruise(['src'], { ...options, baseDir, tsConfig: { fileName: tsConfigFile } }, {}, { tsConfig: extractTSConfig(tsConfigFile) });
  const output = result.output as ICruiseResult;
  assert.equal(typeof output, 'object', 'cruise returns the result object when no output type is asked for');
  assert.ok(output.summary.totalCruised > 0, `nothing cruised under ${baseDir}/src`);
  return output.summary.violations;
}

function describeViolation(v: IViolation): string {
  const cycle = v.cycle?.length ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')})` : '';
  return `${v.from} → ${v.to}: ${v.rule.name}${cycle}`;
}

describe('import layers', () => {
  it('src/ has no upward import, no value import of activities in workflows, a pure domain and no cycle', async () => {
    const violations = await violationsIn(ROOT);
    assert.deepEqual(
      violations.map(describeViolation),
      [],
      `${violations.length} import rule violation(s) (rules and reasons in .dependency-cruiser.cjs):\n` + violations.map((v) => `  ${describeViolation(v)}`).join('\n'),
    );
  });

  describe('the check fails on a tree that breaks each rule', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'retrain-layers-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true }, include: ['src'] }));
    write('package.json', JSON.stringify({ name: 'layers-fixture', type: 'module', private: true }));
    // A report that reads a workflow's status type: upward, even type-only.
    write('src/workflows/status.ts', `export interface Status { stage: string }\n`);
    write('src/reports/report.ts', `import type { Status } from '../workflows/status.js';\nexport const title = (s: Status) => s.stage;\n`);
    // A workflow that loads activity code (beside a type import from the same module), and one that only takes its types.
    write('src/activities/train.ts', `export interface TrainActivities { train(): Promise<void> }\nexport const helper = () => 1;\n`);
    write('src/workflows/flow.ts', `import type { TrainActivities } from '../activities/train.js';\nimport { helper } from '../activities/train.js';\nexport const run = (a: TrainActivities) => [a, helper()];\n`);
    write('src/workflows/ok.ts', `import type { TrainActivities } from '../activities/train.js';\nexport type Ok = TrainActivities;\n`);
    // The module of workflow ids, which clients import, loading a workflow module.
    write('src/workflows/ids.ts', `import type { Status } from './status.js';\nexport type Named = Status;\nexport const pipelineId = (m: string) => m;\n`);
    // A domain module with Node in it.
    write('src/domain/clock.ts', `import { readFileSync } from 'node:fs';\nexport const read = () => readFileSync('x');\n`);
    // Two backends that import each other.
    write('src/backends/a.ts', `import { b } from './b.js';\nexport const a = () => b;\n`);
    write('src/backends/b.ts', `import type { a } from './a.js';\nexport const b = 1;\nexport type A = typeof a;\n`);

    it('reports every violation, with its rule, and nothing else', async () => {
      const found = (await violationsIn(dir)).map((v) => `${v.from} → ${v.to}: ${v.rule.name}`).sort();
      assert.deepEqual(found, [
        'src/backends/a.ts → src/backends/b.ts: no-circular',
        'src/domain/clock.ts → fs: domain-is-pure',
        'src/reports/report.ts → src/workflows/status.ts: no-upward-import',
        'src/workflows/flow.ts → src/activities/train.ts: workflows-take-activity-types-only',
        'src/workflows/ids.ts → src/workflows/status.ts: workflow-ids-load-no-workflow-code',
      ]);
    });
  });
});
