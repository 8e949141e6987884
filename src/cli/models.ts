import type { ModelSpec, RetrainConfig } from '../config/schema.js';
import type { GlobalOptions } from './options.js';

/** Levenshtein distance: insertions, deletions and substitutions, each costing one. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The known name `name` is most likely a typo of: the closest one, when at most a third of its
 * letters differ (two for short names: swapping neighbours is two edits) and not all of them,
 * so "nope" suggests nothing and "fraud-detecter" suggests "fraud-detector". Case is ignored.
 */
export function closestName(name: string, known: string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && distance < name.length && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * The model a command names, checked against the config the same way by every command that takes
 * one: an unknown name is bad input (exit 2), before any server or registry is touched. The
 * message is findModel's (what `retrain violations` answers), with a suggestion when one is close.
 */
export async function requireModel(options: GlobalOptions, name: string): Promise<{ config: RetrainConfig; spec: ModelSpec }> {
  // Loaded on use, not at every start (see main.ts).
  const { ConfigError, loadConfig } = await import('../config/load.js');
  const config = loadConfig(options.config);
  const spec = config.models.find((m) => m.name === name);
  if (spec) return { config, spec };
  const known = config.models.map((m) => m.name);
  const guess = closestName(name, known);
  throw new ConfigError('config', [`unknown model "${name}" (known: ${known.join(', ')})${guess ? `; did you mean "${guess}"?` : ''}`]);
}
