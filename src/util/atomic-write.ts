import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { BitNetError } from '../errors.js';
import { crashWindow } from './crash-window.js';

/** Writes a file so that readers see either the old content or the whole new one, never a part. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFileSynced(tmp, data);
    crashWindow(`write:${basename(path)}`);
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw writeError(path, cause);
  }
}

/** writeFileAtomic for synchronous callers. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    crashWindow(`write:${basename(path)}`);
    renameSync(tmp, path);
  } catch (cause) {
    rmSync(tmp, { force: true });
    throw writeError(path, cause);
  }
}

/** Writes a new file and flushes it to disk (a part of a folder renamed into place afterwards). */
export async function writeFileSynced(path: string, data: Uint8Array | string): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The file system refusing (full disk, permissions, read-only, a file in the way) is the user's to fix; other failures are I/O errors. */
const USER_FS_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENAMETOOLONG']);

export function writeError(path: string, cause: unknown): BitNetError {
  const code = (cause as NodeJS.ErrnoException).code ?? '';
  return new BitNetError(USER_FS_ERRORS.has(code) ? 'INVALID_ARGUMENT' : 'IO_ERROR', `could not write ${path}: ${(cause as Error).message}`, {
    field: 'path',
    hint: USER_FS_ERRORS.has(code) ? 'free disk space, fix the permissions, or choose another output folder' : undefined,
    cause,
  });
}
