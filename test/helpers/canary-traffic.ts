import assert from 'node:assert/strict';
import { pipelineStatus } from '../../src/client.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { createGenerator } from '../../src/demo/simulator/index.js';
import type { Stack } from './stack.js';

/** The label a served answer gets: the truth by default; a test may make one variant wrong. */
export type Truth = (variant: string, prediction: number, actual: number) => number;

/**
 * Plays the users while a run of `spec` is in its canary: predictions over HTTP to the stack's
 * gateway, 40 at a time, and their ground truth as feedback, until `result` settles.
 */
export async function serveUntilDone<T>(stack: Pick<Stack, 'client' | 'gatewayUrl'>, spec: ModelSpec, result: Promise<T>, options: { seed?: number; truth?: Truth } = {}): Promise<T> {
  const truth: Truth = options.truth ?? ((_variant, _prediction, actual) => actual);
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);
  const generator = createGenerator(spec, { seed: options.seed ?? 9, drift: { kind: 'none', startMs: 0, windowMs: 0, periodMs: 1 } });
  let sent = 0;
  while (!done) {
    if ((await pipelineStatus(stack.client, spec.name).catch(() => undefined))?.stage !== 'canary') {
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
      continue;
    }
    const events = Array.from({ length: 40 }, () => generator.sample(sent++ * 10));
    const response = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: events.map((e) => ({ entity_id: `${e.entity_id}-${sent}-${Math.random()}`, features: e.features })) }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { predictions: Array<{ request_id: string; prediction: number; variant: string }> };
    const labels = body.predictions.map((p, i) => ({ request_id: p.request_id, label: truth(p.variant, p.prediction, events[i].label) }));
    const fb = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
    assert.equal(fb.status, 202, await fb.clone().text());
  }
  return result;
}
