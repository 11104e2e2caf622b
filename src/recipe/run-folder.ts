import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { CHECKPOINTS } from './checkpoint.js';

/**
 * A run folder's bookkeeping: the marker that says this tool made it (so `--overwrite` deletes
 * only what a run writes, and only in a folder a run made), and the lock that keeps two
 * processes out of one folder.
 */
export const RUN_MARKER = '.bitnet-run';
export const RUN_LOCK = '.bitnet-run.lock';

/** Everything a run writes at the top of its folder; `--overwrite` removes these and nothing else. */
const RUN_ENTRIES = ['recipe.json', 'metrics.jsonl', 'summary.json', 'report.html', 'final', CHECKPOINTS, RUN_MARKER];
/** Temporary, moved-aside and being-deleted names of atomic writes (writeFileAtomic, replaceDirectory, checkpoints). */
const TEMPORARY = /^\.(recipe\.json|metrics\.jsonl|summary\.json|report\.html|final|bitnet-run|step-\d+)\.[0-9a-f]+\.(tmp|old|del)$/;

export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, RUN_MARKER));
}

/**
 * Cleans up after writes a crash interrupted, in the run folder and its checkpoints: an entry
 * moved aside (`.name.<tag>.old`) whose replacement never arrived is put back; other
 * temporaries are removed.
 */
export function removeStaleTemporaries(dir: string): void {
  for (const folder of [dir, join(dir, CHECKPOINTS)]) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      const m = TEMPORARY.exec(name);
      if (m === null) continue;
      const target = join(folder, m[1] as string);
      if (m[2] === 'old' && !existsSync(target)) renameSync(join(folder, name), target);
      else rmSync(join(folder, name), { recursive: true, force: true });
    }
  }
}

/** Removes what a run wrote in `dir`; the user's other files stay. */
export function clearRunFolder(dir: string): void {
  if (!isRunFolder(dir)) {
    throw new BitNetError('INVALID_ARGUMENT', `${dir} holds a recipe.json but was not made by a bitnet run (no ${RUN_MARKER}): --overwrite leaves it alone`, {
      field: 'output.dir',
      hint: 'set output.dir to a new folder, or delete the old run yourself',
    });
  }
  for (const name of RUN_ENTRIES) rmSync(join(dir, name), { recursive: true, force: true });
}

export function markRunFolder(dir: string): void {
  if (!isRunFolder(dir)) writeFileSync(join(dir, RUN_MARKER), `${JSON.stringify({ tool: 'bitnet-quantize', created: new Date().toISOString() })}\n`);
}

interface LockOwner {
  pid: number;
  host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the run folder's lock (a file created exclusively, holding the owner's pid and host). A
 * lock whose owner on this host is gone is stale and taken over; a live one is an error.
 * Returns the release function.
 */
export function lockRunFolder(dir: string): () => void {
  const path = join(dir, RUN_LOCK);
  const me: LockOwner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      return () => {
        if (readOwner(path)?.pid === me.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(path);
      if (owner !== undefined && (owner.host !== me.host || alive(owner.pid))) {
        throw new BitNetError('INVALID_ARGUMENT', `run folder ${dir} is in use by process ${owner.pid} on ${owner.host}`, {
          field: 'output.dir',
          hint: `wait for it to finish, or delete ${path} if that process is gone`,
        });
      }
      rmSync(path, { force: true });
    }
  }
  throw new BitNetError('INVALID_ARGUMENT', `could not take the lock ${path}`, { field: 'output.dir', hint: 'another process keeps taking it' });
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host } : undefined;
  } catch {
    return undefined;
  }
}
