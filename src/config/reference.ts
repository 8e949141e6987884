import { z } from 'zod';
import { retrainConfig } from './schema.js';

/**
 * The YAML reference, generated from the zod schema so the docs can never disagree with the
 * validation (`npm run docs:config` writes docs/config-reference.md; a test checks it is current).
 */
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
};

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

const DURATION_PATTERN = '^(\\d+(?:\\.\\d+)?)(ms|s|m|h|d|w)$';

function describeType(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.pattern === DURATION_PATTERN) return 'duration (`90s`, `15m`, `24h`, `7d`)';
  const bounds: string[] = [];
  const SAFE = Number.MAX_SAFE_INTEGER; // zod's integer bounds say nothing a reader needs
  if (s.minimum !== undefined && s.minimum !== -SAFE) bounds.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined && s.maximum !== SAFE) bounds.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) bounds.push(`< ${s.exclusiveMaximum}`);
  const base = Array.isArray(s.type) ? s.type.join(' \\| ') : s.type === 'array' ? `list of ${s.items ? describeType(s.items) : 'values'}` : s.type ?? 'any';
  const extra = s.format === 'uri' ? ' (URL)' : s.pattern ? ` matching \`${s.pattern}\`` : '';
  return `${base}${bounds.length ? ` ${bounds.join(', ')}` : ''}${extra}`;
}

function walk(schema: JsonSchema, path: string, rows: Row[], required: boolean, note = ''): void {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    for (const v of variants) {
      const tag = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
      walk(v, path, rows, required, tag ? `(when \`${tag[0]}: ${String(tag[1].const)}\`) ` : note);
    }
    return;
  }
  const isObject = schema.type === 'object' && schema.properties;
  const items = schema.type === 'array' ? schema.items : undefined;
  // A list of objects, or of a tagged union of objects (rollout.analysis.metrics): each field below.
  const isObjectList = Boolean(items && ((items.type === 'object' && items.properties) || (items.anyOf ?? items.oneOf)?.every((v) => v.type === 'object')));
  if (path && !isObject) {
    rows.push({
      path,
      type: isObjectList ? 'list (see below)' : describeType(schema),
      default: schema.default === undefined ? (required ? '**required**' : '') : `\`${JSON.stringify(schema.default)}\``,
      description: `${note}${schema.description ?? ''}`,
    });
  } else if (path && schema.description) {
    rows.push({ path, type: 'mapping', default: required ? '**required**' : '', description: `${note}${schema.description}` });
  }
  if (isObject) {
    for (const [key, child] of Object.entries(schema.properties!)) {
      walk(child, path ? `${path}.${key}` : key, rows, schema.required?.includes(key) ?? false, note);
    }
  }
  if (isObjectList) walk(schema.items!, `${path}[]`, rows, false, note);
}

export function configReference(): string {
  const schema = z.toJSONSchema(retrainConfig, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: Row[] = [];
  walk(schema, '', rows, true);
  const seen = new Set<string>();
  const table = rows
    .filter((r) => {
      const key = `${r.path}|${r.description}|${r.type}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((r) => `| \`${r.path}\` | ${r.type} | ${r.default} | ${r.description} |`);
  return [
    '# retrain.yaml reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every field of the model file, with its type, default and meaning. Durations are strings such as `90s`, `15m`, `24h`, `7d`.',
    'Unknown fields are errors, so a typo never passes silently.',
    '',
    '| field | type | default | meaning |',
    '|---|---|---|---|',
    ...table,
    '',
  ].join('\n');
}
