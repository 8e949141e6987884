import { ConfigError } from './load.js';

/**
 * The one reading of a port number, for the flags (`--port`) and the variables (RETRAIN_*_PORT)
 * alike: decimal digits, 0 to 65535 (0: any free port, or off where the README says so). Anything
 * else (a word, a sign, a fraction, hex, an empty value) is refused with the same words.
 */
export const PORT_EXPECTED = 'expected a port number 0-65535';

/** The port `value` names, or undefined when it names none. */
export function portOf(value: string): number | undefined {
  const text = value.trim();
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65_535 ? port : undefined;
}

/**
 * The port `value` names; otherwise a ConfigError naming `source` (the flag or the variable), which
 * the CLI prints as one line and exit code 2: `--port: expected a port number 0-65535 (got "x")`.
 */
export function parsePort(value: string, source: string): number {
  const port = portOf(value);
  if (port === undefined) throw new ConfigError(source, [`${PORT_EXPECTED} (got ${JSON.stringify(value)})`]);
  return port;
}

/** A `--port` flag's value when given, else the port from the settings. */
export function portOption(value: string | undefined, fallback: number, flag = '--port'): number {
  return value === undefined ? fallback : parsePort(value, flag);
}
