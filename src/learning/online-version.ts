/**
 * How an online copy is named where versions are strings (the gateway's roles, the ledger):
 * `<champion version>+online.<updates>`, so every reader can tell which champion it grew from
 * and a copy of an earlier champion is never served beside a newer one.
 */
export function onlineVersion(base: string | number, updates: number): string {
  return `${base}+online.${updates}`;
}

/** The champion version an online copy grew from; undefined when `version` is not an online copy. */
export function onlineBase(version: string): string | undefined {
  const at = version.indexOf('+online.');
  return at > 0 ? version.slice(0, at) : undefined;
}
