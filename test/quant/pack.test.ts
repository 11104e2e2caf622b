import { describe, expect, it } from 'vitest';
import {
  decodeTrit,
  encodeTrits,
  hfPackedRows,
  packHfWeights,
  packTernary2,
  packTernaryBase3,
  paddedRowLength,
  unpackHfWeights,
  unpackTernary2,
  unpackTernaryBase3,
} from '../../src/quant/pack.js';
import { SeededRandom } from '../../src/util/random.js';
import { expectBitNetError } from '../helpers/errors.js';
import { readGolden } from '../helpers/golden.js';

interface HfGolden {
  shape: [number, number];
  values: number[];
  packed: number[];
  packedShape: number[];
}
interface TqGolden {
  type: 'tq2_0' | 'tq1_0';
  shape: [number, number];
  values: number[];
  qs: number[];
}
const golden = readGolden<{ hfPack: HfGolden[]; tq: TqGolden[] }>('quant.json');

function randomTernary(n: number, seed: number): Int8Array {
  const rng = new SeededRandom(seed);
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(3) - 1;
  return out;
}

const LAYOUTS = [
  { name: '2-bit TQ2_0 order', pack: packTernary2, unpack: unpackTernary2 },
  { name: 'base-3 TQ1_0 order', pack: packTernaryBase3, unpack: unpackTernaryBase3 },
  { name: 'HF pack_weights', pack: packHfWeights, unpack: unpackHfWeights },
] as const;

describe('round trips for every layout', () => {
  const shapes: [number, number][] = [
    [1, 1],
    [1, 256],
    [3, 255],
    [5, 257],
    [4, 512],
    [7, 300],
    [13, 1000],
    [64, 64],
    [2, 768],
  ];
  for (const layout of LAYOUTS) {
    for (const shape of shapes) {
      it(`${layout.name} ${shape.join('x')}`, () => {
        const values = randomTernary(shape[0] * shape[1], shape[0] * 7919 + shape[1]);
        const packed = layout.pack(values, shape);
        expect(layout.unpack(packed, shape)).toEqual(values);
      });
    }
  }
});

describe('2-bit TQ2_0 order', () => {
  it('puts element m + 32j of a half-block in bits 2j of byte m (first element in the low bits)', () => {
    const values = new Int8Array(256);
    values[0] = 1; // code 2 in byte 0 bits 0..1
    values[32] = -1; // code 0 in byte 0 bits 2..3
    values[96] = 1; // code 2 in byte 0 bits 6..7
    values[128 + 5] = -1; // byte 32 + 5, bits 0..1
    values[255] = 1; // element 128 + 31 + 96: byte 63, bits 6..7
    const packed = packTernary2(values, [1, 256]);
    expect(packed.length).toBe(64);
    expect(packed[0]).toBe(0b10_01_00_10);
    expect(packed[37]).toBe(0b01_01_01_00);
    expect(packed[63]).toBe(0b10_01_01_01);
    expect(packed[1]).toBe(0b01_01_01_01);
  });

  it('pads rows to 256 with zero weights (code 1)', () => {
    const values = new Int8Array(3).fill(-1);
    const packed = packTernary2(values, [1, 3]);
    expect(packed.length).toBe(64);
    expect(packed[0]).toBe(0b01_01_01_00);
    expect(packed[3]).toBe(0b01_01_01_01);
    expect(paddedRowLength(3)).toBe(256);
    expect(paddedRowLength(257)).toBe(512);
  });

  it('equals llama.cpp TQ2_0 qs bytes (gguf-py reference quantizer)', () => {
    for (const c of golden.tq.filter((g) => g.type === 'tq2_0')) {
      expect([...packTernary2(Int8Array.from(c.values), c.shape)]).toEqual(c.qs);
    }
  });

  it('reports code 3 as corruption with its byte offset', () => {
    const packed = packTernary2(new Int8Array(256), [1, 256]);
    packed[10] = 0b11_01_01_01;
    const e = expectBitNetError(() => unpackTernary2(packed, [1, 256]), 'CORRUPT_FILE');
    expect(e.offset).toBe(10);
  });
});

describe('base-3 TQ1_0 order', () => {
  it('encodes every 5-trit combination to a byte that decodes back', () => {
    const seen = new Set<number>();
    for (let v = 0; v < 243; v++) {
      const trits = [4, 3, 2, 1, 0].map((p) => Math.floor(v / 3 ** p) % 3);
      const byte = encodeTrits(trits);
      expect(byte).toBe(Math.ceil((v * 256) / 243));
      expect(byte).toBeLessThan(256);
      seen.add(byte);
      expect([0, 1, 2, 3, 4].map((n) => decodeTrit(byte, n))).toEqual(trits);
    }
    expect(seen.size).toBe(243);
  });

  it('encodes every 4-trit qh combination with a trailing zero trit', () => {
    for (let v = 0; v < 81; v++) {
      const trits = [3, 2, 1, 0].map((p) => Math.floor(v / 3 ** p) % 3);
      const byte = encodeTrits(trits);
      expect(byte).toBe(Math.ceil((v * 3 * 256) / 243));
      expect([0, 1, 2, 3, 4].map((n) => decodeTrit(byte, n))).toEqual([...trits, 0]);
    }
  });

  it('equals llama.cpp TQ1_0 qs + qh bytes (gguf-py reference quantizer)', () => {
    for (const c of golden.tq.filter((g) => g.type === 'tq1_0')) {
      expect([...packTernaryBase3(Int8Array.from(c.values), c.shape)]).toEqual(c.qs);
    }
  });

  it('packs 256 weights into 52 bytes and pads with zero weights', () => {
    const packed = packTernaryBase3(new Int8Array(1).fill(1), [1, 1]);
    expect(packed.length).toBe(52);
    // element 0 = code 2 (most significant trit), the rest code 1: v = 2*81 + 27 + 9 + 3 + 1
    expect(packed[0]).toBe(Math.ceil(((2 * 81 + 40) * 256) / 243));
  });
});

describe('HF pack_weights', () => {
  it('matches the transformers docstring example', () => {
    const packed = new Uint8Array([0b10100001, 0b00011000, 0b10010000, 0b00001010]);
    const expected = [0, -1, -1, 1, -1, 1, -1, 1, 1, 0, 0, -1, 1, -1, 1, -1];
    expect([...unpackHfWeights(packed, [8, 2])]).toEqual(expected);
    expect(packHfWeights(Int8Array.from(expected), [8, 2])).toEqual(packed);
  });

  it('equals transformers.integrations.bitnet.pack_weights', () => {
    for (const c of golden.hfPack) {
      expect([hfPackedRows(c.shape[0]), c.shape[1]]).toEqual(c.packedShape);
      expect([...packHfWeights(Int8Array.from(c.values), c.shape)]).toEqual(c.packed);
      expect([...unpackHfWeights(Uint8Array.from(c.packed), c.shape)]).toEqual(c.values);
    }
  });
});

describe('invalid input', () => {
  for (const layout of LAYOUTS) {
    it(`${layout.name}: non-ternary values, wrong lengths, bad shapes`, () => {
      const bad = new Int8Array([0, 1, 2, -1]);
      expectBitNetError(() => layout.pack(bad, [2, 2]), 'INVALID_DATA', 'values[2]');
      expectBitNetError(() => layout.pack(new Int8Array(3), [2, 2]), 'INVALID_SHAPE', 'values');
      expectBitNetError(() => layout.pack(new Int8Array(4), [2, 2, 1] as unknown as [number, number]), 'INVALID_SHAPE', 'shape');
      expectBitNetError(() => layout.unpack(new Uint8Array(5), [2, 2]), 'INVALID_SHAPE', 'packed');
    });
  }
});
