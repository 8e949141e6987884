import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';

/**
 * Whatever a person writes, the loader either returns a config or throws one ConfigError whose
 * lines each name the file: never another exception, never a silent partial config.
 */
describe('config parser under arbitrary input (fast-check)', () => {
  const outcome = (text: string) => {
    try {
      return { config: parseConfig(text, 'fuzz.yaml') };
    } catch (err) {
      return { err };
    }
  };

  it('arbitrary text: a config or a ConfigError naming the file on every line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const { config, err } = outcome(text);
        if (config) return assert.ok(config.models.length > 0);
        assert.ok(err instanceof ConfigError, `unexpected ${String(err)}`);
        for (const line of (err as Error).message.split('\n')) assert.match(line, /^fuzz\.yaml/);
      }),
      { numRuns: 300 },
    );
  });

  it('structurally plausible documents with wrong values are refused by path, valid ones load', () => {
    const value = fc.oneof(fc.integer({ min: -200, max: 200 }), fc.double({ noNaN: false }), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null));
    const model = fc.record({
      name: fc.oneof(fc.constant('churn'), fc.string({ maxLength: 10 })),
      task: fc.oneof(fc.constant('binary_classification'), fc.constant('regression'), fc.string({ maxLength: 6 })),
      features: fc.array(fc.record({ name: fc.oneof(fc.constant('tenure'), fc.string({ maxLength: 6 })), type: fc.oneof(fc.constant('numerical'), fc.constant('categorical'), value) }), { maxLength: 3 }),
      label: fc.record({ name: fc.constant('churned') }),
      rollout: fc.record({ steps: fc.array(fc.record({ weight: value, duration: fc.oneof(fc.constant('1h'), value) }), { maxLength: 3 }) }),
    });
    fc.assert(
      fc.property(model, (m) => {
        const { config, err } = outcome(stringify({ models: [m] }));
        if (config) {
          assert.equal(config.models[0].rollout.steps.at(-1)?.weight, 100);
          return;
        }
        assert.ok(err instanceof ConfigError, `unexpected ${String(err)}`);
        for (const line of (err as Error).message.split('\n')) assert.match(line, /^fuzz\.yaml(:\d+)?: (\(top level\)|models(\[\d+\])?)/);
      }),
      { numRuns: 300 },
    );
  });
});
