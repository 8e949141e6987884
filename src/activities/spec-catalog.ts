import { ApplicationFailure } from '@temporalio/activity';
import { model as modelSchema, type ModelSpec, type RetrainConfig } from '../config/schema.js';
import { specRevision } from '../config/revision.js';
import type { Registry } from '../backends/registry/types.js';
import type { SpecRef } from '../domain/run.js';

export type { SpecRef } from '../domain/run.js';

/**
 * The model specs this worker trusts: its own validated config, plus the revisions it was
 * configured with before (kept in the registry), so a run started before a YAML edit finishes
 * under the rules it started with. Nothing a workflow input says about trainers, gates, approval,
 * budget or rollout is ever used: a payload names a model and a revision, the worker looks it up.
 */
export class SpecCatalog {
  private readonly current = new Map<string, { spec: ModelSpec; revision: string }>();

  constructor(
    config: RetrainConfig,
    private readonly registry: Pick<Registry, 'rememberConfigRevision' | 'configRevision'>,
  ) {
    for (const spec of config.models) {
      const revision = specRevision(spec);
      this.current.set(spec.name, { spec, revision });
      registry.rememberConfigRevision(spec.name, revision, spec);
    }
  }

  /** The spec a run names; a model or revision this worker does not have fails the activity, never retried. */
  resolve(ref: SpecRef): ModelSpec {
    const here = this.require(ref.model);
    if (ref.revision === undefined || ref.revision === here.revision) return here.spec;
    const stored = this.registry.configRevision(ref.model, ref.revision);
    if (stored === undefined) {
      throw ApplicationFailure.nonRetryable(
        `model "${ref.model}" at config revision ${ref.revision} is unknown to this worker (it has revision ${here.revision}): ` +
          'the run was started from a different retrain.yaml than the worker runs; start it again with the same file, or restart the worker with that file',
        'UnknownConfigRevision',
      );
    }
    // Stored by this worker from its own validated config; parsed again so a schema change is caught.
    const parsed = modelSchema.safeParse(stored);
    if (!parsed.success) {
      throw ApplicationFailure.nonRetryable(`model "${ref.model}" config revision ${ref.revision} no longer validates: ${parsed.error.issues[0]?.message}`, 'UnknownConfigRevision');
    }
    return parsed.data;
  }

  /** Checks a model name from a payload before it reaches a path, a URL or a query. */
  require(model: unknown): { spec: ModelSpec; revision: string } {
    const found = typeof model === 'string' ? this.current.get(model) : undefined;
    if (!found) {
      const shown = typeof model === 'string' ? JSON.stringify(model.slice(0, 80)) : typeof model;
      throw ApplicationFailure.nonRetryable(`unknown model ${shown}: this worker's config declares ${[...this.current.keys()].join(', ') || 'no models'}`, 'UnknownModel');
    }
    return found;
  }
}

/** The ref of an activity input; inputs from runs started before refs existed carried the whole spec. */
export function refOf(input: { ref?: SpecRef; spec?: { name?: unknown } }): SpecRef {
  if (input.ref) return input.ref;
  return { model: input.spec?.name as string };
}
