import { writeSync } from 'node:fs';

const hits = new Map<string, number>();

/**
 * A named moment inside a write that replaces something (between a write and its rename, between
 * two renames). With BITNET_PAUSE_AT=<name> (or <name>@<n> for its n-th time) the process stops
 * there, so the crash tests can kill -9 it at exactly that moment; otherwise it does nothing.
 */
export function crashWindow(name: string): void {
  const want = process.env.BITNET_PAUSE_AT;
  if (want === undefined || !want.startsWith(name)) return;
  const count = (hits.get(name) ?? 0) + 1;
  hits.set(name, count);
  if (want !== name && want !== `${name}@${count}`) return;
  writeSync(2, `bitnet: paused at ${want} (BITNET_PAUSE_AT)\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
}
