/** The gateway under test: `retrain serve` in a child process, its control plane, and its memory readings. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MODEL, promSum } from '../gateway-shared.js';
import { ADMIN_TOKEN, ROOT } from './common.js';

export interface GatewayChild {
  child: ChildProcess;
  url: string;
  port: number;
  tail: string[];
}

export function startGateway(dir: string, configFile: string): Promise<GatewayChild> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, RETRAIN_DATA_DIR: dir, RETRAIN_CONFIG: configFile, RETRAIN_ADMIN_TOKEN: ADMIN_TOKEN, RETRAIN_LOG_PRETTY: '0', RETRAIN_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stderr!.on('data', keep);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      keep(chunk);
      out += chunk.toString();
      const m = /Gateway\s+(http:\/\/[\d.]+:(\d+))/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', keep); // keep draining: a full pipe would block the gateway's logger
        resolve({ child, url: m[1], port: Number(m[2]), tail });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited early (code ${code}):\n${tail.slice(-20).join('\n')}`)));
  });
}

export async function admin(url: string, route: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/v1/admin/models/${MODEL}/${route}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT ${route}: ${res.status} ${await res.text()}`);
}

export function statusOf(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export async function heapUsed(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return promSum(text, 'retrain_gateway_nodejs_heap_size_used_bytes');
  } catch {
    return Number.NaN;
  }
}
