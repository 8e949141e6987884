import type { ModelSpec } from '../../src/config/schema.js';
import type { LabelRevisionRule } from '../../src/backends/data/types.js';

/**
 * The spec with `label.revisions` set. Built by spreading rather than parsing, so the tests do not
 * depend on whether the config schema in this checkout knows the field yet.
 */
export function withRevisions(spec: ModelSpec, revisions: LabelRevisionRule): ModelSpec {
  return { ...spec, label: { ...spec.label, revisions } } as ModelSpec;
}
