import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { BitNetError } from '../errors.js';

/** The byte offset V8 names in a JSON.parse message ("... at position 17"), if any. */
function parsePosition(message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  return m === null ? undefined : Number(m[1]);
}

/** Deepest nesting a JSON file may have: every reader walks documents recursively, and none we read nests past a dozen levels. */
export const MAX_JSON_DEPTH = 128;

/** How deeply a parsed JSON value nests (iteratively: the value may be too deep to recurse into). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, depth + 1);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

/** Parses JSON text read from `path`: a syntax error or absurd nesting is CORRUPT_FILE naming the file (and offset). */
export function parseJsonText(text: string, path: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    throw new BitNetError('CORRUPT_FILE', `${path} is not valid JSON: ${message}`, {
      field: basename(path),
      offset: parsePosition(message),
      hint: 'the file is damaged or was edited by hand; restore it or write it again',
      cause,
    });
  }
  if (jsonDepth(json) > MAX_JSON_DEPTH) {
    throw new BitNetError('CORRUPT_FILE', `${path} nests deeper than ${MAX_JSON_DEPTH} levels`, {
      field: basename(path),
      hint: 'the file is damaged or hostile',
    });
  }
  return json;
}

/** Reads a JSON file a user or a run wrote: a missing file, a non-file and bad JSON are typed errors. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new BitNetError('INVALID_ARGUMENT', `${path} is not a regular file`, { field: basename(path) });
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (cause instanceof BitNetError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new BitNetError('FILE_NOT_FOUND', `no file at ${path}`, { field: basename(path), cause });
    throw new BitNetError('INVALID_ARGUMENT', `cannot read ${path}: ${(cause as Error).message}`, { field: basename(path), cause });
  }
  return parseJsonText(text, path);
}

/** readJsonFile for a file that must hold a JSON object. */
export function readJsonObject(path: string): Record<string, unknown> {
  const json = readJsonFile(path);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BitNetError('CORRUPT_FILE', `${path} does not hold a JSON object`, {
      field: basename(path),
      hint: 'the file is damaged or is not the file expected here',
    });
  }
  return json as Record<string, unknown>;
}
