// Child process for the PostgreSQL concurrency test: promotes and rolls back one model N times.
// Usage: node --import tsx test/registry/move-many.ts <URL> <model> <versions> <count> <tag>
import { PostgresRegistry, RegistryError } from '../../src/backends/registry/index.js';

const [url, model, versions, count, tag] = process.argv.slice(2);
const registry = new PostgresRegistry({ url });
let moved = 0;
let refused = 0;
for (let i = 0; i < Number(count); i++) {
  const ctx = { actor: tag, reason: `step ${i}`, idempotencyKey: `${tag}-${i}` };
  try {
    if (i % 3 === 2) registry.rollback(model, ctx);
    else registry.promote(model, 1 + ((i * 7 + tag.length) % Number(versions)), ctx);
    moved++;
  } catch (err) {
    // The other process moved the champion first: "already the champion" / "no previous" are refusals, not failures.
    if (!(err instanceof RegistryError && err.code === 'invalid_move')) throw err;
    refused++;
  }
}
registry.close();
console.log(JSON.stringify({ moved, refused }));
