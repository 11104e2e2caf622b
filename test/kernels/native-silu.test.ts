import { describe, expect, it } from 'vitest';
import { loadNativeTier } from '../../src/kernels/native/tier.js';
import { resolveKernels } from '../../src/kernels/registry.js';

const native = loadNativeTier();
const f32 = Math.fround;

/** A deterministic stream in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Gates in every range fdlibm's exp treats apart: tiny, |x| <= ln2 / 2, < 1.5 ln2 (and both edges), reduced, past 700, overflow and underflow, specials. */
function gates(n: number): Float32Array {
  const next = uniform(7);
  const halfLn2 = Math.LN2 / 2;
  const ranges = [
    () => (next() - 0.5) * 1e-8,
    () => (next() - 0.5) * Math.LN2,
    () => (halfLn2 + (next() - 0.5) * 1e-6) * (next() < 0.5 ? -1 : 1),
    () => (3 * halfLn2 + (next() - 0.5) * 1e-6) * (next() < 0.5 ? -1 : 1),
    () => (next() - 0.5) * 24,
    () => (next() - 0.5) * 200,
    () => (next() - 0.5) * 2000,
  ];
  const g = Float32Array.from({ length: n }, (_, i) => (ranges[i % ranges.length] as () => number)());
  g.set([0, -0, Infinity, -Infinity, Number.NaN, 700, -700, 709.9, -709.9, -745.2, 750, 1e-38, -88.7, 88.7], 0);
  return g;
}

/** Tests that need the native addon are registered only where it is built (the WebAssembly-tier CI run has none). */
const withNative = (name: string, fn: () => void): void => {
  if (native !== null) it(name, fn);
};

describe('native SiLU-GLU', () => {
  it("is the runner's SiLU-GLU exactly when the native tier loads, the reference otherwise", () => {
    expect(resolveKernels('auto').providers.siluGlu).toBe(native === null ? 'reference' : 'native');
    expect(native === null || typeof native.siluGlu === 'function').toBe(true);
  });

  withNative("gives V8's Math.exp formula bit for bit, on every range of exp and at any thread split", () => {
    const siluGlu = (native as NonNullable<typeof native>).siluGlu as NonNullable<NonNullable<typeof native>['siluGlu']>;
    const n = 70_001; // not a multiple of the vector width nor of the thread split's alignment
    const gate = gates(n);
    const next = uniform(11);
    const up = Float32Array.from({ length: n }, () => (next() - 0.5) * 8);
    const want = gate.map((g, i) => f32(f32(g / (1 + Math.exp(-g))) * (up[i] as number)));
    for (const threads of [undefined, 1, 2, 3]) {
      const out = new Float32Array(n).fill(123);
      siluGlu(gate, up, out, threads);
      let differ = 0;
      for (let i = 0; i < n; i++) if (!Object.is(out[i], want[i])) differ++;
      expect(differ, `threads ${threads}`).toBe(0);
    }
    expect(Number.isNaN(want[4])).toBe(true);
  });

  withNative('refuses arrays of different lengths', () => {
    const siluGlu = (native as NonNullable<typeof native>).siluGlu as NonNullable<NonNullable<typeof native>['siluGlu']>;
    expect(() => siluGlu(new Float32Array(8), new Float32Array(7), new Float32Array(8))).toThrow(/same length/);
  });
});
