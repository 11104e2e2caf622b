// The 2-bit storage of merged BitLinear layers built from ternary weights (packed: true).
import { describe, expect, it } from 'vitest';
import { packTernaryCodes, unpackTernaryCodes } from '../../src/nn/ternary-codes.js';

describe('ternary codes, 16 to an int32', () => {
  it('a worked example: -1, 0, 1 are codes 0, 1, 2 from the low bits up', () => {
    expect(Array.from(packTernaryCodes(Int8Array.of(-1, 0, 1)))).toEqual([0 | (1 << 2) | (2 << 4)]);
    // the 16th value fills the top bits: the word's sign bit
    const top = new Int8Array(16).fill(-1);
    top[15] = 1;
    expect(packTernaryCodes(top)[0]).toBe(2 << 30);
    expect(Array.from(unpackTernaryCodes(Int32Array.of(2 << 30), 16))).toEqual(Array.from(top));
  });

  it('round-trips any length', () => {
    for (const n of [1, 15, 16, 17, 1000]) {
      const values = Int8Array.from({ length: n }, (_, k) => ((k * 7919) % 3) - 1);
      const words = packTernaryCodes(values);
      expect(words.length).toBe(Math.ceil(n / 16));
      expect(Array.from(unpackTernaryCodes(words, n))).toEqual(Array.from(values));
    }
  });
});
