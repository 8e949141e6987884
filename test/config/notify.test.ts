import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../helpers/config.js';

const MODEL = `
models:
  - name: churn
    task: binary_classification
    features: [{ name: tenure, type: numerical }]
    label: { name: churned }
`;

describe('config: notifications', () => {
  it('notify.format is slack unless the file says json; anything else is one line naming the field', () => {
    assert.equal(parseConfig(MODEL).notify.format, 'slack');
    assert.equal(parseConfig(`notify: { webhookUrl: "https://hooks.example.com/x", format: json }\n${MODEL}`).notify.format, 'json');
    assert.deepEqual(problemsOf(`notify: { format: teams }\n${MODEL}`), ['models.yaml:1: notify.format: expected slack or json']);
  });

  it('runbooks map notification kinds to http(s) URLs; a misspelt kind or a bad URL is one line naming its path', () => {
    const [m] = parseConfig(`${MODEL}    runbooks: { failed: "https://wiki.example.com/failed", rolled_back: "http://wiki/rollback" }\n`).models;
    assert.deepEqual(m.runbooks, { failed: 'https://wiki.example.com/failed', rolled_back: 'http://wiki/rollback' });
    assert.equal(parseConfig(MODEL).models[0].runbooks, undefined);

    const [kind] = problemsOf(`${MODEL}    runbooks: { rollback: "https://wiki.example.com/rollback" }\n`);
    assert.match(kind, /^models\.yaml:7: models\[0\]\.runbooks\.rollback: "rollback" is not a notification kind; expected one of gates_failed, approval_requested, .*, rolled_back, .*, failed$/);
    assert.deepEqual(problemsOf(`${MODEL}    runbooks: { failed: "javascript:alert(1)" }\n`), ['models.yaml:7: models[0].runbooks.failed: expected an http(s) URL of the runbook']);
  });
});
