import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function readGolden<T>(name: string): T {
  const path = fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Largest |a - b| / max(|b|, tiny) over two arrays. */
export function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const d = Math.abs(x - y) / Math.max(Math.abs(y), 1e-30);
    if (d > worst) worst = d;
  }
  return worst;
}

/** The logits error the HF tests bound: max over positions of max |ours - reference| / max |reference| (one row per position). */
export function worstRowRelative(ours: readonly ArrayLike<number>[], reference: readonly (readonly number[])[]): number {
  return Math.max(
    ...reference.map((row, t) => {
      const got = ours[t] as ArrayLike<number>;
      return row.reduce((m, v, k) => Math.max(m, Math.abs(v - (got[k] as number))), 0) / Math.max(...row.map(Math.abs));
    }),
  );
}
