import { open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { badge, fmtTime, html, page, type SafeHtml } from './html.js';

/**
 * `retrain serve-reports`: the HTML reports under `<dataDir>/reports` over HTTP, so the links in the
 * Temporal UI's workflow details open in a browser. Read-only; binds to loopback unless told
 * otherwise, because reports describe business data.
 */
export interface ReportServerOptions {
  dataDir: string;
}

interface Listing {
  name: string;
  href: string;
  modified: Date;
  /** The report's own verdict (a run's outcome or stage, a check's drift verdict), when it has one. */
  outcome?: string;
}

/**
 * The word of the badge in a report's heading: a run's outcome ("promoted", "rolled back"; its
 * stage, e.g. "awaiting approval", while it goes on) or a check's verdict. The heading comes after
 * the inline stylesheet, within the first few KiB.
 */
export async function reportOutcome(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(16 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8');
    return /<h1>[^<]*<span class="badge [a-z]+">([^<]{1,40})<\/span>/.exec(head)?.[1];
  } finally {
    await handle.close();
  }
}

async function listHtml(dir: string, hrefPrefix: string, limit: number): Promise<Listing[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files = await Promise.all(
    names.filter((n) => n.endsWith('.html')).map(async (name) => ({ name, href: `${hrefPrefix}${encodeURIComponent(name)}`, modified: (await stat(path.join(dir, name))).mtime })),
  );
  const newest = files.sort((a, b) => b.modified.getTime() - a.modified.getTime()).slice(0, limit);
  return Promise.all(newest.map(async (f) => ({ ...f, outcome: await reportOutcome(path.join(dir, f.name)) })));
}

const linkList = (items: Listing[], empty: string): SafeHtml =>
  items.length === 0
    ? html`<p>${empty}</p>`
    : html`<ul>${items.map((i) => html`<li><a href="${i.href}">${i.name}</a>${i.outcome ? html` ${badge(i.outcome.replace(/ /g, '_'))}` : ''} <small>${fmtTime(i.modified.toISOString())}</small></li>`)}</ul>`;

const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export async function buildReportServer(options: ReportServerOptions): Promise<FastifyInstance> {
  const root = path.join(options.dataDir, 'reports');
  const app = Fastify({ logger: false, forceCloseConnections: 'idle' });
  // Headers, not only the reports' meta tag: they cover every response, and nosniff stops a file
  // from being read as something it does not claim to be.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', REPORT_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  // Only real files inside the reports folder: no dot files, nothing reached through a symlink.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/reports/')) return;
    const relative = decodeURIComponent(request.url.slice('/reports/'.length).split('?')[0]);
    if (relative.split('/').some((part) => part.startsWith('.'))) return reply.code(404).send({ message: 'not found' });
    if (relative.endsWith('/index') || relative === '') return;
    const file = path.join(root, relative);
    const [real, realRoot] = await Promise.all([realpath(file).catch(() => undefined), realpath(root).catch(() => root)]);
    if (real !== undefined && (real !== file || !real.startsWith(realRoot + path.sep))) return reply.code(404).send({ message: 'not found' });
  });
  await app.register(fastifyStatic, { root, prefix: '/reports/', index: false, list: false, decorateReply: false, dotfiles: 'deny', allowedPath: (pathName) => !pathName.split('/').some((p) => p.startsWith('.')) });

  app.get('/', async (_request, reply) => reply.redirect('/reports'));

  app.get('/reports', async (_request, reply) => {
    const models = (await readdir(root, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    const rows = await Promise.all(models.map(async (m) => {
      const latest = await reportOutcome(path.join(root, m, 'latest-run.html'));
      return html`<li><a href="/reports/${encodeURIComponent(m)}/index">${m}</a>: <a href="/reports/${encodeURIComponent(m)}/latest-check.html">latest check</a>, <a href="/reports/${encodeURIComponent(m)}/latest-run.html">latest run</a>${latest ? html` ${badge(latest.replace(/ /g, '_'))}` : ''}</li>`;
    }));
    const body = models.length ? html`<ul>${rows}</ul>` : html`<p>No reports yet: every monitor check and every retraining run writes one (or run <code>retrain report &lt;model&gt;</code>).</p>`;
    return reply.type('text/html; charset=utf-8').send(page('retrain reports', html`<h1>Reports</h1>${body}`));
  });

  app.get<{ Params: { model: string } }>('/reports/:model/index', async (request, reply) => {
    const model = request.params.model;
    if (model.includes('/') || model.startsWith('.')) return reply.code(400).send({ message: `invalid model name "${model}"` });
    const dir = path.join(root, model);
    const [checks, runs] = await Promise.all([listHtml(path.join(dir, 'checks'), `/reports/${encodeURIComponent(model)}/checks/`, 100), listHtml(path.join(dir, 'runs'), `/reports/${encodeURIComponent(model)}/runs/`, 100)]);
    if (checks.length === 0 && runs.length === 0) return reply.code(404).send({ message: `no reports for model "${model}"` });
    const body = html`<h1>${model}</h1><h2>Retraining runs</h2>${linkList(runs, 'No runs yet.')}<h2>Monitor checks (newest 100)</h2>${linkList(checks, 'No checks yet.')}`;
    return reply.type('text/html; charset=utf-8').send(page(`${model} reports`, body));
  });
  return app;
}
