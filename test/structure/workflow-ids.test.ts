/** The workflow names in workflows/ids.ts (used by clients that must not load workflow code) name the workflows the worker registers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEPLOY_WORKFLOW_TYPE, LEARNING_WORKFLOW_TYPE, MONITOR_WORKFLOW_TYPE, monitorWorkflowId, PIPELINE_WORKFLOW_TYPE, pipelineWorkflowId } from '../../src/workflows/ids.js';
import * as workflows from '../../src/workflows/index.js';

describe('workflow ids', () => {
  it('the workflow types are the functions workflows/index.ts exports', () => {
    assert.deepEqual(Object.keys(workflows).sort(), [DEPLOY_WORKFLOW_TYPE, LEARNING_WORKFLOW_TYPE, MONITOR_WORKFLOW_TYPE, PIPELINE_WORKFLOW_TYPE].sort());
    assert.equal(typeof workflows[DEPLOY_WORKFLOW_TYPE], 'function');
    assert.equal(typeof workflows[PIPELINE_WORKFLOW_TYPE], 'function');
    assert.equal(typeof workflows[MONITOR_WORKFLOW_TYPE], 'function');
  });

  it('a model has one pipeline id and one monitor id, as before', () => {
    assert.equal(pipelineWorkflowId('fraud-detector'), 'retrain-fraud-detector');
    assert.equal(monitorWorkflowId('fraud-detector'), 'retrain-monitor-fraud-detector');
  });
});
