/** What a lake file is, shared by the local layout and the lake store's cache (remote.ts). */

export interface LakeFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the model's lake folder, e.g. predictions/date=2024-01-15/x.parquet. */
  relative: string;
  bytes: number;
  mtimeMs: number;
  /** Partition date, YYYY-MM-DD. */
  date: string;
}

/** Visible data files end in .parquet and never start with a dot (writers use dot-names until the rename). */
export function isDataFileName(name: string): boolean {
  return name.endsWith('.parquet') && !name.startsWith('.');
}
