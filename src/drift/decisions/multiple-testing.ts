/**
 * Multiple-testing control for p-value drift methods (KS, chi-square) across
 * the features of one check: with 40 features tested at 0.01, about one in
 * three stable checks would show a "drifted" feature by chance alone.
 *
 *  - 'bh' (default), Benjamini-Hochberg: controls the false discovery rate,
 *    the expected share of drifted verdicts that are false. Adjusted
 *    p_(i) = min over j >= i of m p_(j) / j, capped at 1
 *    (scipy.stats.false_discovery_control(p, method='bh')).
 *  - 'holm', Holm-Bonferroni: controls the family-wise error rate, the
 *    chance of any false verdict; stricter. Adjusted
 *    p_(i) = max over j <= i of min(1, (m - j + 1) p_(j))
 *    (statsmodels multipletests(p, method='holm')).
 *
 * null entries (features without enough data) are skipped: they stay null
 * and do not count in m.
 */
import { DriftInputError, requireArrayLike, requireOpenUnit } from './common.js';

export type AdjustmentMethod = 'bh' | 'holm';

function checkPValues(pValues: ArrayLike<number | null>): Array<number | null> {
  const a = requireArrayLike(pValues, 'pValues', 'an array of p-values (numbers in [0, 1] or null)');
  const out: Array<number | null> = [];
  for (let i = 0; i < a.length; i++) {
    const p = a[i];
    if (p === null) { out.push(null); continue; }
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new DriftInputError('pValues', `value at index ${i} must be a p-value in [0, 1] or null, got ${String(p)}`);
    out.push(p);
  }
  return out;
}

/** Adjusted p-values in the input order; compare them with the nominal level. */
export function adjustPValues(pValues: ArrayLike<number | null>, method: AdjustmentMethod = 'bh'): Array<number | null> {
  const p = checkPValues(pValues);
  if (method !== 'bh' && method !== 'holm') throw new DriftInputError('method', `must be 'bh' or 'holm', got ${String(method)}`);
  const present = p.flatMap((v, i) => (v === null ? [] : [i]));
  // Stable ascending order of the present p-values (ties keep input order).
  present.sort((i, j) => (p[i] as number) - (p[j] as number) || i - j);
  const m = present.length;
  const adjusted: Array<number | null> = p.map(() => null);
  if (method === 'bh') {
    let running = 1;
    for (let rank = m; rank >= 1; rank--) {
      const i = present[rank - 1];
      // p * (m / rank), in scipy's order of operations, so results match to the last bit.
      running = Math.min(running, (p[i] as number) * (m / rank));
      adjusted[i] = running;
    }
  } else {
    let running = 0;
    for (let rank = 1; rank <= m; rank++) {
      const i = present[rank - 1];
      running = Math.max(running, Math.min(1, (m - rank + 1) * (p[i] as number)));
      adjusted[i] = running;
    }
  }
  return adjusted;
}

/** Adjusted p-values and which tests are rejected (drift) at level alpha. */
export function rejectAtLevel(
  pValues: ArrayLike<number | null>,
  alpha: number,
  method: AdjustmentMethod = 'bh',
): { adjusted: Array<number | null>; rejected: boolean[] } {
  requireOpenUnit(alpha, 'alpha');
  const adjusted = adjustPValues(pValues, method);
  return { adjusted, rejected: adjusted.map((q) => q !== null && q <= alpha) };
}
