import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { admin, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

describe('control plane under racing admin operations', () => {
  let env: TestEnv;
  let gw: Running;
  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env);
  });
  after(async () => {
    await gw.close();
    env.cleanup();
  });

  test('a challenger that is the champion is refused, and `previous` never ends up equal to the champion', async () => {
    assert.equal((await admin(gw.url, 'PUT', '/champion', { version: 1, artifactUri: env.v1 })).status, 200);
    const same = await admin(gw.url, 'PUT', '/challenger', { version: 1, artifactUri: env.v1, weight: 10 });
    assert.equal(same.status, 409);
    assert.match(same.body.message, /v1 is already the champion; a challenger must be another version/);

    for (let round = 0; round < 5; round++) {
      // The operations an operator and a pipeline might send at once; order is up to the event loop.
      await Promise.all([
        admin(gw.url, 'PUT', '/challenger', { version: 2, artifactUri: env.v2, weight: 20 }),
        admin(gw.url, 'POST', '/promote', { version: 2 }),
        admin(gw.url, 'PUT', '/champion', { version: 2, artifactUri: env.v2 }),
        admin(gw.url, 'PUT', '/challenger', { version: 2, artifactUri: env.v2, weight: 50 }),
        admin(gw.url, 'POST', '/rollback', { to: 'previous' }),
        admin(gw.url, 'POST', '/promote'),
      ]);
      const d = (await admin(gw.url, 'GET', '/deployment')).body;
      assert.ok(d.champion, JSON.stringify(d));
      assert.notEqual(d.previous?.version, d.champion.version, `round ${round}: ${JSON.stringify({ champion: d.champion.version, previous: d.previous?.version, challenger: d.challenger?.version })}`);
      assert.notEqual(d.challenger?.version, d.champion.version);
    }
  });

  test('artifacts load only from the artifact store: outside paths are refused alike, whether they exist or not', async () => {
    writeFileSync(path.join(env.dir, 'secret.json'), '{"password": "hunter2"}');
    mkdirSync(path.join(env.dir, 'artifacts', 'sneaky'), { recursive: true });
    symlinkSync(path.join(env.dir, 'secret.json'), path.join(env.dir, 'artifacts', 'sneaky', 'model.json'));
    const answers = [];
    for (const artifactUri of ['/etc/passwd', path.join(env.dir, 'secret.json'), '/nonexistent/model.json', `file://${path.join(env.dir, 'secret.json')}`, path.join(env.dir, 'artifacts', 'sneaky', 'model.json')]) {
      const res = await admin(gw.url, 'PUT', '/champion', { version: 9, artifactUri });
      assert.equal(res.status, 422, artifactUri);
      assert.equal(res.body.error, 'artifact_outside_store', JSON.stringify(res.body));
      assert.doesNotMatch(JSON.stringify(res.body), /hunter2|root:/);
      answers.push(res.body.message.replace(artifactUri, ''));
    }
    assert.equal(new Set(answers).size, 1, 'one answer for every outside path: nothing to learn about the disk');
  });
});
