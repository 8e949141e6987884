/**
 * The import rules of src/ (the README, "Layout"). `npm test` checks them
 * (test/structure/layers.test.ts); `npx depcruise src` lists any violation by hand.
 *
 * Layers, from the top:
 *   cli, demo, schedules, client.ts, worker.ts     entry points and Temporal clients
 *   workflows, activities                          the orchestration; workflows take activities
 *                                                  as types only (proxyActivities)
 *   monitoring                                     the measurements of a monitor check and their
 *                                                  replay (backtest), shared by activities and the CLI
 *   backends, serving, reports, runtime,           the machinery and the pure code it runs on
 *   security, drift, config
 *   domain                                         types and constants all of the above share
 *                                                  (no Node; of src it takes only config's types)
 * Imports point down, never up, and no file is part of an import cycle (type-only imports count).
 */

/** What sits below the orchestration: may never import from activities, workflows or the CLI. */
const LOWER = '^src/(config|drift|backends|serving|reports|runtime|security|domain|monitoring)/';
/** The orchestration layers and entry points the lower layers must not reach. */
const UPPER = '^src/(activities|workflows|cli|demo|schedules)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-upward-import',
      comment:
        'monitoring, config, drift, backends, serving, reports, runtime, security and domain are the layers below the ' +
        'orchestration: they never import from activities, workflows, the CLI, the demo or the schedules. ' +
        'A type both sides need belongs in src/domain.',
      severity: 'error',
      from: { path: LOWER },
      to: { path: UPPER },
    },
    {
      name: 'workflows-take-activity-types-only',
      comment:
        'Workflow code runs in the deterministic sandbox: it imports activities as types only ' +
        "(`import type ... from '../activities/...'`) and calls them through proxyActivities.",
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-no-node-builtins',
      comment: 'Workflow code does no I/O: no Node built-in modules (the workflow bundler would refuse them too).',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'domain-is-pure',
      comment:
        "src/domain holds shared types and pure constants that workflow code imports: it takes nothing from " +
        "the rest of src but config's types, no Node built-ins and no package but @temporalio/common.",
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        pathNot: ['^src/domain/', '^src/config/', '^node_modules/@temporalio/common/'],
      },
    },
    {
      name: 'domain-takes-config-types-only',
      comment: 'src/domain may name config types (e.g. a metric kind), never load the zod schemas.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/config/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflow-ids-load-no-workflow-code',
      comment:
        'workflows/ids.ts (workflow types and ids) is what clients, schedules and activities import to ' +
        "start and find workflows without loading workflow code: it imports nothing.",
      severity: 'error',
      from: { path: '^src/workflows/ids\\.ts$' },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only ones included: a cycle means two files are one idea, or a type is in the wrong layer.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    // Type-only imports count: they are how a lower layer would come to depend on an upper one.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // Resolve packages as Node does for this ESM project (vega-lite only has an `exports` map).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
