import { realpathSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { BitNetError } from '../errors.js';

/**
 * A file a model file names (model.json weight paths, an HF shard index's weight_map), resolved
 * inside its folder: after following symlinks it must stay under `root` and be a regular file
 * (no devices, FIFOs or folders).
 */
export function confinedFile(root: string, name: string, field: string): string {
  if (typeof name !== 'string' || name === '' || isAbsolute(name)) {
    throw new BitNetError('CORRUPT_FILE', `${field} names '${String(name)}': a file inside ${root} is expected`, { field });
  }
  let real: string;
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(join(root, name));
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `${field} names ${name}, which is not in ${root}`, { field, cause });
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new BitNetError('CORRUPT_FILE', `${field} names ${name}, outside ${root}`, { field, hint: 'model files may only name files in their own folder' });
  }
  if (!statSync(real).isFile()) throw new BitNetError('CORRUPT_FILE', `${field} names ${name}, which is not a regular file`, { field });
  return real;
}

/** The size of a file a reader is about to open, refusing what is not a regular file (a FIFO would block, a device never end). */
export async function regularFileSize(path: string, what: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `no ${what} file at ${path}`, { field: 'path', cause });
  }
  if (!info.isFile()) throw new BitNetError('INVALID_ARGUMENT', `${path} is not a regular file (a ${what} file is expected)`, { field: 'path' });
  return info.size;
}
