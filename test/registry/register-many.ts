// Child process for the registry concurrency test: registers N versions of one model.
// Usage: node --import tsx test/registry/register-many.ts <SQLite|PostgreSQL|MLflow> <db file, URL or MLflow where-JSON> <artifact> <model> <count> <tag>
import { PostgresRegistry, type Registry, SqliteRegistry } from '../../src/backends/registry/index.js';
import { openMlflowRegistry } from './stores.js';

const [store, db, artifact, model, count, tag] = process.argv.slice(2);
const registry: Registry = store === 'PostgreSQL' ? new PostgresRegistry({ url: db }) : store === 'MLflow' ? openMlflowRegistry(db) : new SqliteRegistry({ path: db });
const versions: number[] = [];
for (let i = 0; i < Number(count); i++) {
  const v = await registry.registerVersion({ model, artifactUri: artifact, metrics: { accuracy: 0.9 }, trainer: 'builtin', idempotencyKey: `${tag}-${i}` });
  versions.push(v.version);
}
registry.close();
console.log(JSON.stringify(versions));
