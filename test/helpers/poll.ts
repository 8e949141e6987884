/**
 * Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` naming what it
 * waited for. Free of Temporal imports (they start the Temporal runtime, which keeps a process
 * alive), so gateway and lake tests use it too; temporal.ts re-exports it.
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

/** Polls a yes/no `check` until it says yes, or fails after `timeoutMs` naming what it waited for. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'the condition'): Promise<void> {
  await eventually(async () => ((await check()) ? true : undefined), what, timeoutMs);
}
