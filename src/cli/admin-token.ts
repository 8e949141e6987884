import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The gateway's admin token under `npm run dev`: the stack keeps it in `<dataDir>/admin-token`
 * (readable by its owner only), so every `retrain` command run with the same data directory finds
 * it without being told. RETRAIN_ADMIN_TOKEN, when set, wins everywhere.
 */
export const adminTokenFile = (dataDir: string) => path.join(dataDir, 'admin-token');

/** The token a command sends to the gateway: RETRAIN_ADMIN_TOKEN, else the dev stack's file, else none. */
export function adminToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.RETRAIN_ADMIN_TOKEN) return env.RETRAIN_ADMIN_TOKEN;
  try {
    return readFileSync(adminTokenFile(dataDir), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * What `dev` runs with: RETRAIN_ADMIN_TOKEN when set (nothing is written), else the token kept in
 * the data directory from an earlier start, else a new one written there (mode 0600).
 */
export function devAdminToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): { token: string; file?: string } {
  if (env.RETRAIN_ADMIN_TOKEN) return { token: env.RETRAIN_ADMIN_TOKEN };
  const file = adminTokenFile(dataDir);
  const kept = adminToken(dataDir, {});
  if (kept) return { token: kept, file };
  const token = randomBytes(18).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

/**
 * What to add when the gateway refuses the control plane (401 no or wrong token, 503 none set):
 * where the CLI looked for the token.
 */
export function adminTokenHint(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.RETRAIN_ADMIN_TOKEN) return 'the CLI sent RETRAIN_ADMIN_TOKEN; it must be the token the gateway was started with';
  return `the CLI found no RETRAIN_ADMIN_TOKEN and no ${adminTokenFile(dataDir)}: set RETRAIN_ADMIN_TOKEN, or run with the RETRAIN_DATA_DIR of the \`npm run dev\` stack (it keeps its token there)`;
}
