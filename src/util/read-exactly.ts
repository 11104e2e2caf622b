import type { FileHandle } from 'node:fs/promises';

/** Largest single read: Node refuses one read of 2 GiB or more. */
const CHUNK = 1 << 30;

/** Fills `out` from `position`, in chunks a single read accepts; returns how many bytes the file had (less than out.length at its end). */
export async function readExactly(file: FileHandle, out: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < out.length) {
    const { bytesRead } = await file.read(out, done, Math.min(CHUNK, out.length - done), position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
