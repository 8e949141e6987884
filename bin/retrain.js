#!/usr/bin/env node
// The `retrain` command. It runs the compiled JavaScript in dist/ (built by `npm install`'s prepare
// step and before `npm test`, see scripts/build.ts) when dist was built from the sources as they are
// now; otherwise, or with RETRAIN_FROM_SOURCE=1, the TypeScript sources through tsx, so an edit to
// src is never shadowed by an old build.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// A copy of sourceState in scripts/build.ts (keep them identical): each input file with its size
// and modification time. Stat-only, about 5 ms; compiling the CLI through tsx takes seconds.
function sourceState() {
  const lines = [];
  const add = (rel) => {
    const s = statSync(`${root}/${rel}`);
    if (!s.isDirectory()) return void lines.push(`${rel} ${s.size} ${s.mtimeMs}`);
    for (const name of readdirSync(`${root}/${rel}`).sort()) add(`${rel}/${name}`);
  };
  for (const input of ['tsconfig.json', 'scripts/build.ts', 'src']) add(input);
  return lines.join('\n');
}

function distIsFresh() {
  if (process.env.RETRAIN_FROM_SOURCE === '1') return false;
  try {
    return readFileSync(`${root}/dist/.source-state`, 'utf8') === sourceState();
  } catch {
    return false; // no build (or no sources, scripts/ not copied): the sources through tsx
  }
}

if (distIsFresh()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
