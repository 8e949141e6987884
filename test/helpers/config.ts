import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.js';

/** The lines of the ConfigError a text gets (as `models.yaml`); fails the test when it is accepted. */
export function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'models.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message.split('\n');
  }
  assert.fail('expected the config to be refused');
}
