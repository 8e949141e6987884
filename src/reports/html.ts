/**
 * HTML building blocks for the reports: escaping by default, number and time formatting, tables,
 * verdict badges and the page layout with its inline stylesheet.
 *
 * Everything goes through the `html` tagged template: interpolated values are escaped unless they
 * are SafeHtml (produced by `html` itself, `raw` or the helpers here), so a model, feature or
 * category name can never inject markup.
 */

/** Markup that is already safe to insert as is. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Marks trusted markup (e.g. an SVG rendered by Vega) as safe. Never pass user input here. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);

/** Renders one interpolated value: SafeHtml as is, arrays joined, nullish and false as nothing, the rest escaped. */
function part(v: unknown): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

/** Tagged template that escapes every interpolation that is not SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

// ---------------------------------------------------------------------------------------------
// Formatting

export const DASH = '—';

/** A drift score or p-value: small values in exponent form so p-values like 3e-12 stay readable. */
export function fmtScore(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return DASH;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a < 1e-3) return x.toExponential(2);
  if (a < 1) return x.toFixed(4);
  if (a < 100) return x.toFixed(3);
  if (a < 1e6) return x.toFixed(1);
  return x.toExponential(3);
}

/** A plain number with at most `digits` decimals (trailing zeros dropped). */
export function fmtNum(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return DASH;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (Math.abs(x) >= 1e9 || (x !== 0 && Math.abs(x) < 10 ** -digits)) return x.toExponential(2);
  return String(Number(x.toFixed(digits)));
}

/** A measurement with `digits` significant digits, e.g. 50160, 40.069, -0.0037972. */
export function fmtSig(x: number | null | undefined, digits = 5): string {
  if (x === null || x === undefined || Number.isNaN(x)) return DASH;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  return String(Number(x.toPrecision(digits)));
}

export function fmtInt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  return Math.round(x).toLocaleString('en-US');
}

export function fmtPct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  return `${(x * 100).toFixed(digits)}%`;
}

/** An ISO timestamp as "2024-05-01 12:00:00 UTC"; anything unparsable is shown as given. */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  return `${new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '')} UTC`;
}

/** "3 h 12 min" between two ISO timestamps, or a dash. */
export function fmtDuration(fromIso: string | undefined, toIso: string | undefined): string {
  if (!fromIso || !toIso) return DASH;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// ---------------------------------------------------------------------------------------------
// Pieces

/** Colour class of a verdict or outcome word: red for bad, green for good, grey for undecided. */
export function toneOf(word: string): 'bad' | 'good' | 'neutral' | 'warn' {
  switch (word) {
    case 'drift':
    case 'fail':
    case 'failed':
    case 'rejected':
    case 'rolled_back':
    case 'refused':
      return 'bad';
    case 'ok':
    case 'pass':
    case 'passed':
    case 'promoted':
    case 'approved':
      return 'good';
    case 'warn':
    case 'flagged':
      return 'warn';
    default:
      return 'neutral';
  }
}

/** A coloured badge; `label` defaults to the word with underscores as spaces. */
export function badge(word: string, label?: string): SafeHtml {
  return html`<span class="badge ${toneOf(word)}">${label ?? word.replace(/_/g, ' ')}</span>`;
}

export type Cell = SafeHtml | string | number | null | undefined;

export interface TableOptions {
  /** Indexes of columns to right-align (numbers). */
  numeric?: number[];
  /** Extra class per row, e.g. to tint a drifted feature. */
  rowClass?: (index: number) => string | undefined;
  caption?: string;
}

/** A plain table; string cells are escaped, numbers printed as given, null as a dash. */
export function table(headers: string[], rows: Cell[][], options: TableOptions = {}): SafeHtml {
  const num = new Set(options.numeric ?? []);
  const cell = (c: Cell, i: number, tag: 'td' | 'th') => {
    const cls = num.has(i) ? raw(' class="num"') : '';
    return html`<${raw(tag)}${cls}>${c === null || c === undefined ? DASH : c}</${raw(tag)}>`;
  };
  return html`<table>${options.caption ? html`<caption>${options.caption}</caption>` : ''}
<thead><tr>${headers.map((h, i) => cell(h, i, 'th'))}</tr></thead>
<tbody>${rows.map((r, ri) => {
    const cls = options.rowClass?.(ri);
    return html`<tr${cls ? html` class="${cls}"` : ''}>${r.map((c, i) => cell(c, i, 'td'))}</tr>\n`;
  })}</tbody></table>`;
}

/** A definition list of label/value pairs, for headers. */
export function facts(pairs: Array<[string, Cell]>): SafeHtml {
  return html`<dl class="facts">${pairs.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v === null || v === undefined ? DASH : v}</dd></div>`)}</dl>`;
}

/** A highlighted note: 'neutral' for explanations such as insufficient data. */
export function callout(tone: 'bad' | 'good' | 'neutral' | 'warn', title: string, body: SafeHtml | string): SafeHtml {
  return html`<div class="callout ${tone}"><strong>${title}</strong><div>${body}</div></div>`;
}

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2933; background: #f5f7fa; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; min-height: 100vh; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e4e7eb; }
h3 { font-size: 15px; margin: 22px 0 6px; }
p.sub { color: #52606d; margin: 0 0 16px; }
.note { color: #52606d; font-size: 12.5px; font-weight: normal; }
p.note { margin: 4px 0 8px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
caption { text-align: left; color: #52606d; font-size: 12.5px; padding-bottom: 4px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.bad td { background: #fff5f5; }
tr.neutral td { color: #616e7c; }
a { color: #1f5fa8; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; background: #f0f4f8; padding: 0 3px; border-radius: 3px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.bad { background: #fde2e1; color: #b42318; }
.badge.good { background: #dcf5e3; color: #166534; }
.badge.warn { background: #fff1cc; color: #8a5a00; }
.badge.neutral { background: #e9ecef; color: #4b5563; }
dl.facts { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 10px 0 18px; }
dl.facts div { min-width: 120px; }
dl.facts dt { color: #616e7c; font-size: 12px; }
dl.facts dd { margin: 0; font-weight: 600; }
.callout { border-left: 4px solid #9aa5b1; background: #f5f7fa; padding: 10px 14px; margin: 12px 0; }
.callout.bad { border-color: #d64545; background: #fff5f5; }
.callout.good { border-color: #3f9142; background: #f3fbf5; }
.callout.warn { border-color: #e0a800; background: #fffbeb; }
.callout ul { margin: 6px 0 0; padding-left: 20px; }
section.feature { border-top: 1px solid #e4e7eb; margin-top: 18px; }
figure.chart { margin: 6px 0 10px; overflow-x: auto; }
figure.chart svg { max-width: 100%; height: auto; }
.cols { display: flex; flex-wrap: wrap; gap: 8px 32px; align-items: flex-start; }
footer { margin-top: 40px; color: #7b8794; font-size: 12px; }
`;

/**
 * A complete, self-contained HTML document. The Content-Security-Policy forbids every fetch and
 * script, so the file behaves the same opened from disk or served over HTTP.
 */
export function page(title: string, body: SafeHtml, footer?: string): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<main>
${body}
<footer>${footer ?? ''}</footer>
</main>
</body>
</html>
`.value;
}
