/**
 * Undo steps registered as effects happen and run, newest first, when the run must give the
 * effects back (a rollback, a failure, a cancellation): the saga sample's pattern. Each runs once;
 * `clear` forgets them once the effects are meant to stay (after promotion).
 */
export class Compensations {
  private readonly steps: Array<{ name: string; undo: (reason: string) => Promise<void> }> = [];

  /** Registers `undo` under `name` unless it is registered already (traffic moves several times, is restored once). */
  once(name: string, undo: (reason: string) => Promise<void>): void {
    if (!this.steps.some((s) => s.name === name)) this.steps.push({ name, undo });
  }

  async run(reason: string): Promise<void> {
    const pending = this.steps.splice(0).reverse();
    for (const step of pending) await step.undo(reason);
  }

  clear(): void {
    this.steps.length = 0;
  }
}
