/**
 * Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` naming what it
 * waited for. The same as temporal.ts's `eventually`, without its imports (they start the Temporal
 * runtime, which keeps a process alive): for tests of the gateway and the lake.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
