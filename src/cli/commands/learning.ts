import type { Command } from 'commander';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';

/**
 * `retrain learning status <model>` and `retrain learning unfreeze <model>`: the online learner of a
 * model with `learning: online | hybrid`, as its state in the registry says (shared by every worker).
 * A freeze (a snapshot worse than the last good one) waits for a person: unfreeze resumes learning
 * from the last good snapshot, which is what has served since the freeze.
 */
export function registerLearningCommand(program: Command): void {
  const learning = program.command('learning').description('the online learner of a model with learning: online | hybrid');

  learning
    .command('status <model>')
    .description('what serves, what was learned, the last good snapshot, and whether the learner is frozen')
    .action(async (model: string) => {
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const state = await withLearnerState(spec.name, (s) => s);
      emit(options, { model: spec.name, mode: spec.learning.mode, state: state ?? null }, () => {
        if (spec.learning.mode === 'batch') return `${spec.name}: learning: batch (no online learner)`;
        if (!state) return `${spec.name}: learning: ${spec.learning.mode}; the learner has not taken a step yet (its schedule retrain-learn-${spec.name} starts it after \`retrain apply\`)`;
        const t = state.totals;
        return [
          `${spec.name}: learning: ${spec.learning.mode}, grown from champion v${state.base}`,
          `  serving: ${state.copy ? state.copy.version : `v${state.base} alone (nothing learned yet)`}`,
          `  learned: ${t.applied} labels in ${t.steps} steps (${t.dropped} left out by the ${spec.learning.maxUpdatesPerMinute}/minute bound, ${t.skipped} refused)${t.applied > 0 && spec.task !== 'regression' ? `, prequential accuracy ${(t.correct / t.applied).toFixed(3)}` : ''}`,
          `  last good snapshot: ${state.lastGood.copy ? `v${state.lastGood.registryVersion} (${state.lastGood.copy.version})` : `the champion v${state.base}`}${state.lastGood.metric === null ? '' : `, ${spec.gates.metric} ${state.lastGood.metric.toFixed(4)}`}`,
          state.frozen ? `  FROZEN since ${state.frozen.at}: snapshot v${state.frozen.snapshotVersion} ${state.frozen.reason}\n  resume with: npx retrain learning unfreeze ${spec.name}` : `  labels read through ${state.cursor.labelTs}`,
        ].join('\n');
      });
    });

  learning
    .command('unfreeze <model>')
    .description('resume a frozen learner from its last good snapshot')
    .action(async (model: string) => {
      const { emit, RefusedError } = await import('../output.js');
      const { unfreeze } = await import('../../learning/learner-state.js');
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      const resumed = await withLearnerState(spec.name, (state, save) => {
        if (!state) throw new RefusedError(`${spec.name} has no online learner yet: nothing to unfreeze`);
        if (!state.frozen) throw new RefusedError(`${spec.name}'s online learner is not frozen`);
        const next = unfreeze(state, new Date());
        save(next);
        return next;
      });
      emit(options, resumed, () => `${spec.name}: online learning resumed from ${resumed.copy?.version ?? `champion v${resumed.base}`}`);
    });
}

async function withLearnerState<T>(model: string, use: (state: import('../../learning/learner-state.js').LearnerState | undefined, save: (s: unknown) => void) => T): Promise<T> {
  const { openRegistry } = await import('../../backends/registry/open.js');
  const { runtimeSettings } = await import('../../config/settings.js');
  const { LEARNER_STATE_KEY } = await import('../../learning/learner-state.js');
  const registry = openRegistry(runtimeSettings());
  try {
    const state = registry.monitorState(model, LEARNER_STATE_KEY) as import('../../learning/learner-state.js').LearnerState | undefined;
    return use(state, (s) => registry.saveMonitorState(model, LEARNER_STATE_KEY, s));
  } finally {
    registry.close();
  }
}
