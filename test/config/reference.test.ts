import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configReference } from '../../src/config/reference.js';

describe('docs/config-reference.md', () => {
  it('is generated from the schema and up to date (run `npm run docs:config` after changing the schema)', () => {
    assert.equal(readFileSync('docs/config-reference.md', 'utf8'), configReference());
  });

  it('documents defaults and meanings a user looks for', () => {
    const doc = configReference();
    assert.match(doc, /\| `models\[\]\.triggers\.drift\.psi` \| number > 0 \| `0\.15` \| PSI above this is drift/);
    assert.match(doc, /\| `models\[\]\.approval\.sla` \| duration .* \| `"4h"` \|/);
    assert.match(doc, /\| `models\[\]\.trainer\.command` \| list of string \| \*\*required\*\* \| \(when `backend: command`\)/);
  });
});
