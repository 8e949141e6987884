import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * What `retrain data import` has imported, one JSON line per file in
 * `<dataDir>/lake/<model>/imports.jsonl`, keyed by the file's content (SHA-256), so the same rows
 * are not appended twice, whatever the file is called now.
 */
export interface ImportRecord {
  sha256: string;
  kind: string;
  file: string;
  rows: number;
  at: string;
}

export const importLogFile = (dataDir: string, model: string) => path.join(dataDir, 'lake', model, 'imports.jsonl');

export function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** The earlier import of the same content as the same kind, if any. A torn or foreign line is skipped. */
export async function findImport(dataDir: string, model: string, kind: string, sha256: string): Promise<ImportRecord | undefined> {
  let text: string;
  try {
    text = await readFile(importLogFile(dataDir, model), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as ImportRecord;
      if (r.sha256 === sha256 && r.kind === kind) return r;
    } catch {
      // an empty or torn line
    }
  }
  return undefined;
}

export async function recordImport(dataDir: string, model: string, record: ImportRecord): Promise<void> {
  const file = importLogFile(dataDir, model);
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(record)}\n`);
}
