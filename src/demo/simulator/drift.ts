/**
 * Drift schedules: how strongly the shifted distribution applies at a time since the start,
 * from 0 (reference data) to 1 (fully drifted).
 *
 * - none: always 0.
 * - sudden: 0 before `startMs`, 1 from then on.
 * - gradual: a linear ramp from 0 at `startMs` to 1 at `startMs + windowMs`, then 1.
 * - recurring: seasonal, 0 before `startMs`, then 0.5·(1 − cos(2π·t/periodMs)): back at 0 every
 *   period, fully drifted half-way through it.
 */
export type DriftKind = 'none' | 'sudden' | 'gradual' | 'recurring';
export const DRIFT_KINDS: readonly DriftKind[] = ['none', 'sudden', 'gradual', 'recurring'];

export interface DriftPlan {
  kind: DriftKind;
  /** Time since the simulation start at which drift begins. */
  startMs: number;
  /** gradual: length of the ramp. */
  windowMs: number;
  /** recurring: length of one cycle. */
  periodMs: number;
  /** Features the drift applies to; undefined = the generator's default set. */
  features?: string[];
}

export function driftPlan(kind: DriftKind, startMs: number, options: Partial<Omit<DriftPlan, 'kind' | 'startMs'>> = {}): DriftPlan {
  return { kind, startMs, windowMs: options.windowMs ?? 180_000, periodMs: options.periodMs ?? 120_000, features: options.features };
}

export function driftIntensity(plan: DriftPlan, elapsedMs: number): number {
  if (plan.kind === 'none' || elapsedMs < plan.startMs) return 0;
  const t = elapsedMs - plan.startMs;
  switch (plan.kind) {
    case 'sudden':
      return 1;
    case 'gradual':
      return plan.windowMs <= 0 ? 1 : Math.min(1, t / plan.windowMs);
    case 'recurring':
      return 0.5 * (1 - Math.cos((2 * Math.PI * t) / plan.periodMs));
  }
}

/** A short description of where the schedule is, for the progress line. */
export function driftPhase(plan: DriftPlan, elapsedMs: number): string {
  if (plan.kind === 'none') return 'no drift';
  if (elapsedMs < plan.startMs) return `${plan.kind} drift in ${Math.ceil((plan.startMs - elapsedMs) / 1000)}s`;
  const pct = Math.round(driftIntensity(plan, elapsedMs) * 100);
  if (plan.kind === 'sudden') return 'sudden drift: active';
  if (plan.kind === 'gradual') return pct >= 100 ? 'gradual drift: complete' : `gradual drift: ramping ${pct}%`;
  return `recurring drift: ${pct}%`;
}
