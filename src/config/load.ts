import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { retrainConfig, type ModelSpec, type RetrainConfig } from './schema.js';
import { applyTimeProfile } from './time-profile.js';

/** A configuration problem a person can fix; its message is the whole story, never a stack trace. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}${p.startsWith(':') ? '' : ': '}${p}`).join('\n'));
  }
}

export const DEFAULT_CONFIG_FILE = 'retrain.yaml';

/** The config file in force: an explicit path, then RETRAIN_CONFIG, then ./retrain.yaml. */
export function configPath(explicit?: string): string {
  return path.resolve(explicit ?? process.env.RETRAIN_CONFIG ?? DEFAULT_CONFIG_FILE);
}

export function loadConfig(file?: string): RetrainConfig {
  const resolved = configPath(file);
  const relative = path.relative(process.cwd(), resolved);
  const shown = relative && !relative.startsWith('..') ? relative : resolved;
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(shown, [code === 'ENOENT' ? 'file not found (set --config or RETRAIN_CONFIG)' : `cannot read: ${(err as Error).message}`]);
  }
  return parseConfig(text, shown);
}

/** Parses and validates YAML text; `file` only names the source in messages. */
export function parseConfig(text: string, file = DEFAULT_CONFIG_FILE): RetrainConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `:${pos.line}:${pos.col}: ` : ''}invalid YAML: ${firstLine(e.message)}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (err) {
    // e.g. an alias to an anchor that does not exist: the parser accepts it, building the value does not.
    throw new ConfigError(file, [`invalid YAML: ${firstLine((err as Error).message)}`]);
  }
  // reportInput: an issue carries the value it rejected, so a wrong type is not mistaken for a missing field.
  const result = retrainConfig.safeParse(data, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(file, result.error.issues.map((issue) => describeIssue(issue, doc, lineCounter)));
  }
  return applyTimeProfile(result.data);
}

export function findModel(config: RetrainConfig, name: string): ModelSpec {
  const found = config.models.find((m) => m.name === name);
  if (!found) {
    const known = config.models.map((m) => m.name).join(', ');
    throw new ConfigError('config', [`unknown model "${name}" (known: ${known})`]);
  }
  return found;
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): string {
  const fieldPath = formatPath(issue.path);
  const line = lineOf(doc, lines, issue.path);
  const where = `${line ? `:${line}: ` : ''}${fieldPath || '(top level)'}`;
  return `${where}: ${message(issue)}`;
}

function message(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      if (issue.message.startsWith('Invalid input')) {
        return issue.input === undefined ? `missing; expected ${issue.expected}` : `expected ${issue.expected}, got ${describe(issue.input)}`;
      }
      return issue.message;
    case 'invalid_value':
      if (issue.message.startsWith('Invalid')) return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      return issue.message;
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** `models[0].rollout.steps[1].weight`, the way a person would write it. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    return acc ? `${acc}.${String(seg)}` : String(seg);
  }, '');
}

/** Line of the deepest node that exists along the path, so a missing field points at its parent. */
function lineOf(doc: Document, lines: LineCounter, segments: readonly PropertyKey[]): number | undefined {
  for (let depth = segments.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(segments.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** yaml's pretty messages add the position and a code excerpt; we print the position ourselves. */
function firstLine(text: string): string {
  return text.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}
