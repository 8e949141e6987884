import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { onShutdownSignal, type SignalTarget } from '../../src/cli/shutdown.js';

/** A process stand-in: signals are events, exits are recorded. */
function fakeProcess(): SignalTarget & { emit(signal: string): void; exits: number[]; count(): number } {
  const events = new EventEmitter();
  const exits: number[] = [];
  return {
    on: (signal, listener) => events.on(signal, listener),
    off: (signal, listener) => events.off(signal, listener),
    exit: (code) => void exits.push(code),
    emit: (signal) => void events.emit(signal),
    exits,
    count: () => events.listenerCount('SIGINT') + events.listenerCount('SIGTERM'),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** How every long-running command stops (issue 16): one helper, one rule. */
describe('the shutdown signal', () => {
  it('the first Ctrl-C (or SIGTERM) stops once and exits 0; a second exits 130 without waiting', async () => {
    const proc = fakeProcess();
    let stops = 0;
    let finish!: () => void;
    onShutdownSignal(() => new Promise<void>((resolve) => ((stops += 1), (finish = resolve))), { process: proc });
    proc.emit('SIGTERM');
    await tick();
    assert.equal(stops, 1);
    assert.deepEqual(proc.exits, []);
    proc.emit('SIGINT');
    assert.deepEqual(proc.exits, [130]);
    finish();
    await tick();
    assert.equal(stops, 1);
    assert.deepEqual(proc.exits, [130, 0]);
  });

  it('a failed stop exits 1', async () => {
    const proc = fakeProcess();
    const errors: string[] = [];
    onShutdownSignal(() => Promise.reject(new Error('flush failed')), { process: proc, what: 'the gateway', logger: { info: () => undefined, error: (_o: unknown, msg?: string) => void errors.push(String(msg)) } as never });
    proc.emit('SIGINT');
    await tick();
    assert.deepEqual(proc.exits, [1]);
    assert.deepEqual(errors, ['Error while stopping the gateway']);
  });

  it('with exit: false the command ends on its own; the returned function removes the handlers', async () => {
    const proc = fakeProcess();
    const abort = new AbortController();
    const off = onShutdownSignal(() => abort.abort(), { exit: false, process: proc });
    proc.emit('SIGINT');
    await tick();
    assert.ok(abort.signal.aborted);
    assert.deepEqual(proc.exits, []);
    off();
    assert.equal(proc.count(), 0);
  });
});
