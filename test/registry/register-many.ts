// Child process for the registry concurrency test: registers N versions of one model.
// Usage: node --import tsx test/registry/register-many.ts <SQLite|PostgreSQL> <db file or URL> <artifact> <model> <count> <tag>
import { PostgresRegistry, type Registry, SqliteRegistry } from '../../src/backends/registry/index.js';

const [store, db, artifact, model, count, tag] = process.argv.slice(2);
const registry: Registry = store === 'PostgreSQL' ? new PostgresRegistry({ url: db }) : new SqliteRegistry({ path: db });
const versions: number[] = [];
for (let i = 0; i < Number(count); i++) {
  const v = await registry.registerVersion({ model, artifactUri: artifact, metrics: { accuracy: 0.9 }, trainer: 'builtin', idempotencyKey: `${tag}-${i}` });
  versions.push(v.version);
}
registry.close();
console.log(JSON.stringify(versions));
