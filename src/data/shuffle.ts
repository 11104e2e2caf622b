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

/**
 * The order of `count` examples in each epoch: the permutation seeded by (seed, epoch), the last
 * one kept. A step's batch then depends only on the seed and the step (resume-safe).
 */
export class EpochOrder {
  private epoch = -1;
  private order: Uint32Array = new Uint32Array(0);

  constructor(
    readonly count: number,
    readonly seed: number,
  ) {}

  of(epoch: number): Uint32Array {
    if (epoch !== this.epoch) {
      this.order = seededPermutation(this.count, (this.seed * 1_000_003 + epoch) >>> 0);
      this.epoch = epoch;
    }
    return this.order;
  }
}
