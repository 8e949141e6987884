// Child process for writer.test.ts: appends `batches` batches of `size` predictions to one
// partition, so the parent can read the lake concurrently from another process.
import { LakeDataBackend } from '../../src/backends/data/lake/index.js';
import { prediction, testSpec } from './helpers.js';

const [dataDir, batches, size, tag] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
const backend = new LakeDataBackend({ dataDir, threads: 1 });
const spec = testSpec();
for (let b = 0; b < batches; b++) {
  const rows = Array.from({ length: size }, (_, i) => prediction(i % 20, { request_id: `${tag}-${b}-${i}` }));
  await backend.appendPredictions(spec, rows);
}
await backend.close();
