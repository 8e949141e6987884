/**
 * How a person's name is compared: Unicode NFKC, trimmed, inner whitespace collapsed, lower case.
 * " ML-Lead " and "ml-lead" are one person; a look-alike from another script is not folded into a
 * Latin name (NFKC keeps scripts apart), so it stays a different, unlisted name. Used by the config
 * (approver lists) and by the workflows (who decides), so both sides compare the same way. No zod
 * here: the workflow bundle imports it.
 */
export function normalizePerson(name: unknown): string {
  if (typeof name !== 'string') return '';
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Control characters or nothing left after normalising: not a name anyone can be held to. */
export function personNameProblem(name: unknown): string | undefined {
  const normal = normalizePerson(name);
  if (!normal) return 'a name is required';
  if (/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/.test(normal)) return 'a name may not contain control or invisible characters';
  if (normal.length > 100) return 'a name may be at most 100 characters';
  return undefined;
}
