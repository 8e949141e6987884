/** `npm run docs:config`: writes docs/config-reference.md from the zod schema. */
import { writeFileSync } from 'node:fs';
import { configReference } from '../src/config/reference.js';

writeFileSync('docs/config-reference.md', configReference());
console.log('wrote docs/config-reference.md');
