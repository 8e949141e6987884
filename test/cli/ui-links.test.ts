import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decisiveChecksQuery, pipelinesQuery, uiWorkflowsUrl } from '../../src/cli/ui-links.js';

/** The web UI links printed by `npm run dev`, the narrator and the README (issue 16, item 2). */
describe('web UI links', () => {
  it('the runs of a model (pipelines and deployments): workflow type and RetrainModel, URL-encoded into the list\'s query parameter', () => {
    assert.equal(pipelinesQuery({ model: 'fraud-detector' }), 'WorkflowType IN ("retrainPipeline", "deployVersion") AND RetrainModel = "fraud-detector"');
    assert.equal(pipelinesQuery(), 'WorkflowType IN ("retrainPipeline", "deployVersion")');
    assert.equal(pipelinesQuery({ stage: 'awaiting_approval' }), 'WorkflowType IN ("retrainPipeline", "deployVersion") AND RetrainStage = "awaiting_approval"');
    const url = uiWorkflowsUrl('http://localhost:8233/', 'default', pipelinesQuery({ model: 'fraud-detector' }));
    assert.equal(url, 'http://localhost:8233/namespaces/default/workflows?query=WorkflowType%20IN%20(%22retrainPipeline%22%2C%20%22deployVersion%22)%20AND%20RetrainModel%20%3D%20%22fraud-detector%22');
    assert.equal(new URL(url).searchParams.get('query'), pipelinesQuery({ model: 'fraud-detector' }));
    assert.equal(uiWorkflowsUrl('http://localhost:8233', 'default'), 'http://localhost:8233/namespaces/default/workflows');
  });

  it('a model name that needs quoting stays one string in the query', () => {
    assert.equal(pipelinesQuery({ model: 'a"b' }), 'WorkflowType IN ("retrainPipeline", "deployVersion") AND RetrainModel = "a\\"b"');
    assert.match(decisiveChecksQuery('m'), /^WorkflowType = "monitorModel" AND RetrainModel = "m" AND RetrainStage IN \("monitor_started", "monitor_already_running", "monitor_deployment_started"\)$/);
  });

  it('the README gives the same links as the code (the dev UI on its default port)', () => {
    const readme = readFileSync('README.md', 'utf8');
    const ui = (query: string) => uiWorkflowsUrl('http://localhost:8233', 'default', query);
    for (const query of [pipelinesQuery({ model: 'fraud-detector' }), pipelinesQuery(), pipelinesQuery({ stage: 'awaiting_approval' }), decisiveChecksQuery('fraud-detector')]) {
      assert.ok(readme.includes(`\`${query}\``), `README lacks the query ${query}`);
      assert.ok(readme.includes(`<${ui(query)}>`), `README lacks the link ${ui(query)}`);
    }
  });
});
