import { BitNetError } from '../errors.js';
import { assertShape } from './validate.js';

/**
 * Packed ternary layouts. A weight q in {-1, 0, 1} is stored as the code c = q + 1.
 *
 * Row padding (TQ2_0 and base-3 layouts): each row of `in` weights is padded to a
 * multiple of 256 with q = 0 (code 1), so a padded weight adds nothing to a dot
 * product whatever the padded activations hold. Unpacking drops the padding.
 *
 * HF layout: out_features is padded to a multiple of 4; as in transformers'
 * `pack_weights` the missing rows leave their bits 0 (code 0), and unpacking
 * keeps only the first `out` rows.
 */
export const TERNARY_BLOCK = 256;
/** Bytes of 2-bit codes per 256-weight block (ggml TQ2_0 `qs`). */
export const TQ2_QS_BYTES = 64;
/** Bytes of base-3 codes per 256-weight block (ggml TQ1_0 `qs` + `qh`). */
export const TQ1_QS_BYTES = 52;

export type TernaryShape = readonly [number, number];

export function paddedRowLength(inFeatures: number): number {
  return Math.ceil(inFeatures / TERNARY_BLOCK) * TERNARY_BLOCK;
}

function checkShape(shape: TernaryShape): void {
  assertShape(shape);
  if (shape.length !== 2) {
    throw new BitNetError('INVALID_SHAPE', `packed weights need shape [out, in], got ${JSON.stringify(shape)}`, {
      field: 'shape',
    });
  }
}

function checkTernary(values: Int8Array, shape: TernaryShape): void {
  checkShape(shape);
  if (values.length !== shape[0] * shape[1]) {
    throw new BitNetError('INVALID_SHAPE', `values has ${values.length} elements, shape ${JSON.stringify(shape)} needs ${shape[0] * shape[1]}`, {
      field: 'values',
    });
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < -1 || v > 1) {
      throw new BitNetError('INVALID_DATA', `values[${i}] is ${v}; ternary weights must be -1, 0 or 1`, {
        field: `values[${i}]`,
      });
    }
  }
}

function checkPackedLength(packed: Uint8Array, expected: number, layout: string): void {
  if (packed.length !== expected) {
    throw new BitNetError('INVALID_SHAPE', `${layout} data has ${packed.length} bytes, expected ${expected} for this shape`, {
      field: 'packed',
    });
  }
}

/** Code of element `k` of a row (0 past its end: padding is q = 0, code 1). */
function codeAt(values: Int8Array, rowStart: number, inFeatures: number, k: number): number {
  return k < inFeatures ? (values[rowStart + k] as number) + 1 : 1;
}

// ---------------------------------------------------------------- 2-bit, TQ2_0 qs order

/**
 * Packs one 256-weight block into 64 bytes in TQ2_0 `qs` order: byte 32h + m holds
 * elements 128h + m + 32j in bits 2j..2j+1 (j = 0..3, first element in the low bits).
 */
export function packTq2Block(codes: (k: number) => number, out: Uint8Array, outOffset: number): void {
  for (let h = 0; h < 2; h++) {
    for (let m = 0; m < 32; m++) {
      const base = 128 * h + m;
      out[outOffset + 32 * h + m] = codes(base) | (codes(base + 32) << 2) | (codes(base + 64) << 4) | (codes(base + 96) << 6);
    }
  }
}

/** Rows of `in` ternary weights → rows of ceil(in/256) * 64 bytes. */
export function packTernary2(values: Int8Array, shape: TernaryShape): Uint8Array {
  checkTernary(values, shape);
  const [out, inF] = shape;
  const blocks = paddedRowLength(inF) / TERNARY_BLOCK;
  const packed = new Uint8Array(out * blocks * TQ2_QS_BYTES);
  for (let r = 0; r < out; r++) {
    const rowStart = r * inF;
    for (let b = 0; b < blocks; b++) {
      const first = b * TERNARY_BLOCK;
      packTq2Block((k) => codeAt(values, rowStart, inF, first + k), packed, (r * blocks + b) * TQ2_QS_BYTES);
    }
  }
  return packed;
}

export function unpackTernary2(packed: Uint8Array, shape: TernaryShape): Int8Array {
  checkShape(shape);
  const [out, inF] = shape;
  const blocks = paddedRowLength(inF) / TERNARY_BLOCK;
  checkPackedLength(packed, out * blocks * TQ2_QS_BYTES, 'TQ2-order 2-bit');
  const values = new Int8Array(out * inF);
  for (let r = 0; r < out; r++) {
    for (let k = 0; k < inF; k++) {
      const b = k >> 8;
      const e = k & 255;
      const byteIndex = (r * blocks + b) * TQ2_QS_BYTES + 32 * (e >> 7) + (e & 31);
      const shift = 2 * ((e >> 5) & 3);
      const code = ((packed[byteIndex] as number) >> shift) & 3;
      if (code === 3) {
        throw new BitNetError('CORRUPT_FILE', `2-bit code 3 at byte ${byteIndex} (bits ${shift}..${shift + 1}); valid codes are 0, 1, 2`, {
          offset: byteIndex,
        });
      }
      values[r * inF + k] = code - 1;
    }
  }
  return values;
}

// ---------------------------------------------------------------- base 3, TQ1_0 order

const POW3 = [1, 3, 9, 27, 81, 243] as const;

/** Five trits (first most significant) → the fixed-point byte ceil(v * 256 / 243). */
export function encodeTrits(trits: readonly number[]): number {
  let v = 0;
  for (const t of trits) v = v * 3 + t;
  for (let n = trits.length; n < 5; n++) v *= 3;
  return Math.floor((v * 256 + 242) / 243);
}

/** Trit n (0 = most significant) of a base-3 byte: ((byte * 3^n) mod 256) * 3 >> 8. */
export function decodeTrit(byte: number, n: number): number {
  return (((byte * (POW3[n] as number)) & 0xff) * 3) >> 8;
}

/**
 * Packs one 256-weight block into 52 bytes (TQ1_0 `qs[48]` then `qh[4]`):
 * qs[m] (m < 32) holds m + 32n (n = 0..4); qs[32 + m] (m < 16) holds 160 + m + 16n;
 * qh[j] holds 240 + j + 4n (n = 0..3) and a zero trit.
 */
export function packTq1Block(codes: (k: number) => number, out: Uint8Array, outOffset: number): void {
  const put = (index: number, first: number, stride: number, count: number): void => {
    let v = 0;
    for (let n = 0; n < count; n++) v = v * 3 + codes(first + stride * n);
    for (let n = count; n < 5; n++) v *= 3;
    out[outOffset + index] = Math.floor((v * 256 + 242) / 243);
  };
  for (let m = 0; m < 32; m++) put(m, m, 32, 5);
  for (let m = 0; m < 16; m++) put(32 + m, 160 + m, 16, 5);
  for (let j = 0; j < 4; j++) put(48 + j, 240 + j, 4, 4);
}

/** Position in a 52-byte base-3 block (byte index, trit index) of block element e. */
function tq1Position(e: number): [number, number] {
  if (e < 160) return [e & 31, e >> 5];
  if (e < 240) return [32 + ((e - 160) & 15), (e - 160) >> 4];
  return [48 + ((e - 240) & 3), (e - 240) >> 2];
}

export function packTernaryBase3(values: Int8Array, shape: TernaryShape): Uint8Array {
  checkTernary(values, shape);
  const [out, inF] = shape;
  const blocks = paddedRowLength(inF) / TERNARY_BLOCK;
  const packed = new Uint8Array(out * blocks * TQ1_QS_BYTES);
  for (let r = 0; r < out; r++) {
    const rowStart = r * inF;
    for (let b = 0; b < blocks; b++) {
      const first = b * TERNARY_BLOCK;
      packTq1Block((k) => codeAt(values, rowStart, inF, first + k), packed, (r * blocks + b) * TQ1_QS_BYTES);
    }
  }
  return packed;
}

export function unpackTernaryBase3(packed: Uint8Array, shape: TernaryShape): Int8Array {
  checkShape(shape);
  const [out, inF] = shape;
  const blocks = paddedRowLength(inF) / TERNARY_BLOCK;
  checkPackedLength(packed, out * blocks * TQ1_QS_BYTES, 'base-3');
  const values = new Int8Array(out * inF);
  for (let r = 0; r < out; r++) {
    for (let k = 0; k < inF; k++) {
      const [byte, trit] = tq1Position(k & 255);
      const byteIndex = (r * blocks + (k >> 8)) * TQ1_QS_BYTES + byte;
      values[r * inF + k] = decodeTrit(packed[byteIndex] as number, trit) - 1;
    }
  }
  return values;
}

// ---------------------------------------------------------------- HF transformers pack_weights

/** Rows of the HF packed tensor: ceil(out / 4). */
export function hfPackedRows(outFeatures: number): number {
  return Math.ceil(outFeatures / 4);
}

/**
 * HF `pack_weights`: stored shape [ceil(out/4), in]; with R = ceil(out/4), row r + i*R
 * goes to packed row r, bits 2i..2i+1 (low bits first).
 */
export function packHfWeights(values: Int8Array, shape: TernaryShape): Uint8Array {
  checkTernary(values, shape);
  const [out, inF] = shape;
  const rows = hfPackedRows(out);
  const packed = new Uint8Array(rows * inF);
  for (let src = 0; src < out; src++) {
    const r = src % rows;
    const shift = 2 * Math.floor(src / rows);
    for (let k = 0; k < inF; k++) {
      packed[r * inF + k] = (packed[r * inF + k] as number) | (((values[src * inF + k] as number) + 1) << shift);
    }
  }
  return packed;
}

export function unpackHfWeights(packed: Uint8Array, shape: TernaryShape): Int8Array {
  checkShape(shape);
  const [out, inF] = shape;
  const rows = hfPackedRows(out);
  checkPackedLength(packed, rows * inF, 'HF pack_weights');
  const values = new Int8Array(out * inF);
  for (let dst = 0; dst < out; dst++) {
    const r = dst % rows;
    const shift = 2 * Math.floor(dst / rows);
    for (let k = 0; k < inF; k++) {
      const code = ((packed[r * inF + k] as number) >> shift) & 3;
      if (code === 3) {
        throw new BitNetError('CORRUPT_FILE', `2-bit code 3 at byte ${r * inF + k} (bits ${shift}..${shift + 1}); valid codes are 0, 1, 2`, {
          offset: r * inF + k,
        });
      }
      values[dst * inF + k] = code - 1;
    }
  }
  return values;
}
