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
