/**
 * The built-in trainer (logistic / linear regression, src/backends/training/builtin-core.ts) as a
 * contract trainer (docs/trainer-contract.md), so the product's own trainer can run wherever the
 * contract runs: a `command` trainer on another host, a Ray job. Run from the repository root:
 *
 *     node --import tsx examples/trainers/builtin/train.ts <request.json>
 *
 * `params` of the request are the built-in trainer's (`algorithm`, `learningRate`, `epochs`, `l2`,
 * `classWeight`, `seed`); defaults as for `trainer.backend: builtin`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { trainer as trainerSchema } from '../../../src/config/schema.js';
import type { TrainerRequestFile } from '../../../src/backends/training/contract.js';
import { runBuiltinJob } from '../../../src/backends/training/builtin-core.js';

const requestPath = process.argv.at(-1);
if (!requestPath?.endsWith('.json')) {
  console.error('usage: node --import tsx examples/trainers/builtin/train.ts <request.json>');
  process.exit(2);
}
const request = JSON.parse(readFileSync(requestPath, 'utf8')) as TrainerRequestFile;
const { algorithm, ...params } = request.params as { algorithm?: string };
const parsed = trainerSchema.safeParse({ backend: 'builtin', ...(algorithm ? { algorithm } : request.task === 'regression' ? { algorithm: 'linear_regression' } : {}), params });
if (!parsed.success || parsed.data.backend !== 'builtin') {
  console.error(`request.params: not built-in trainer parameters: ${parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const outcome = await runBuiltinJob(
  {
    task: request.task,
    ...(request.classes ? { classes: request.classes } : {}),
    algorithm: parsed.data.algorithm,
    features: request.features,
    labelName: request.label.name,
    params: parsed.data.params,
    datasetDir: request.datasetDir,
    outputDir: request.outputDir,
    runId: request.runId,
  },
  (p) => console.log(JSON.stringify({ progress: p.fraction, message: p.message, ...(p.metrics ? { metrics: p.metrics } : {}) })),
);
writeFileSync(path.join(request.outputDir, 'metrics.json'), JSON.stringify(outcome.metrics, null, 2));
for (const line of outcome.log) console.error(line);
