import { SeededRandom } from '../util/random.js';

/** A Fisher-Yates permutation of 0..n-1 from a seed. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const rng = new SeededRandom(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}
