import { BitNetError } from '../../errors.js';
import { roundHalfAway } from '../../quant/round.js';
import { decodeTrit, packTq1Block, packTq2Block, TQ1_QS_BYTES, TQ2_QS_BYTES } from '../../quant/pack.js';
import { bf16ToFloat, floatToBf16, floatToHalf, halfTable, halfToFloat } from '../../util/half.js';

/** The ggml tensor types this project reads and writes: id, weights per block, bytes per block. */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, typeSize: 4 },
  F16: { id: 1, blockSize: 1, typeSize: 2 },
  Q8_0: { id: 8, blockSize: 32, typeSize: 34 },
  BF16: { id: 30, blockSize: 1, typeSize: 2 },
  TQ1_0: { id: 34, blockSize: 256, typeSize: 54 },
  TQ2_0: { id: 35, blockSize: 256, typeSize: 66 },
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPES;

export function ggmlTypeById(id: number): GgmlTypeName | undefined {
  return (Object.keys(GGML_TYPES) as GgmlTypeName[]).find((k) => GGML_TYPES[k].id === id);
}

export function ggmlTensorBytes(type: GgmlTypeName, elements: number): number {
  const { blockSize, typeSize } = GGML_TYPES[type];
  if (elements % blockSize !== 0) {
    throw new BitNetError('INVALID_SHAPE', `${type} needs a multiple of ${blockSize} elements per row, got ${elements}`, { field: 'shape' });
  }
  return (elements / blockSize) * typeSize;
}

/**
 * Encodes float32 values (row-major, rows of ne[0]) to a ggml type, as ggml's reference quantizers
 * do: F16/BF16 round to nearest even; Q8_0 d = amax/127 (f16), q = round(x / d) half away from zero;
 * TQ2_0/TQ1_0 d = max|x| of the block (f16), code = round(x / d) + 1.
 */
export function encodeGgml(type: GgmlTypeName, data: Float32Array): Uint8Array {
  const out = new Uint8Array(ggmlTensorBytes(type, data.length));
  const view = new DataView(out.buffer);
  switch (type) {
    case 'F32':
      for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
      return out;
    case 'F16':
      for (let i = 0; i < data.length; i++) view.setUint16(i * 2, floatToHalf(data[i] as number), true);
      return out;
    case 'BF16':
      for (let i = 0; i < data.length; i++) view.setUint16(i * 2, floatToBf16(data[i] as number), true);
      return out;
    case 'Q8_0':
      for (let b = 0; b < data.length / 32; b++) {
        let amax = 0;
        for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(data[b * 32 + i] as number));
        const d = Math.fround(amax / 127);
        const id = d !== 0 ? Math.fround(1 / d) : 0;
        view.setUint16(b * 34, floatToHalf(d), true);
        for (let i = 0; i < 32; i++) view.setInt8(b * 34 + 2 + i, roundHalfAway(Math.fround((data[b * 32 + i] as number) * id)));
      }
      return out;
    case 'TQ2_0':
    case 'TQ1_0': {
      const qsBytes = type === 'TQ2_0' ? TQ2_QS_BYTES : TQ1_QS_BYTES;
      const blockBytes = GGML_TYPES[type].typeSize;
      const pack = type === 'TQ2_0' ? packTq2Block : packTq1Block;
      for (let b = 0; b < data.length / 256; b++) {
        let amax = 0;
        for (let i = 0; i < 256; i++) amax = Math.max(amax, Math.abs(data[b * 256 + i] as number));
        const id = amax !== 0 ? Math.fround(1 / amax) : 0;
        pack((k) => roundHalfAway(Math.fround((data[b * 256 + k] as number) * id)) + 1, out, b * blockBytes);
        view.setUint16(b * blockBytes + qsBytes, floatToHalf(amax), true);
      }
      return out;
    }
  }
}

/** Ternary weights with one scale `d` per 256-weight block (per-tensor beta, or 1 with a .scale tensor). */
export function encodeTernaryBlocks(type: 'TQ2_0' | 'TQ1_0', values: Int8Array, d: number): Uint8Array {
  const blockBytes = GGML_TYPES[type].typeSize;
  const qsBytes = type === 'TQ2_0' ? TQ2_QS_BYTES : TQ1_QS_BYTES;
  const pack = type === 'TQ2_0' ? packTq2Block : packTq1Block;
  const out = new Uint8Array(ggmlTensorBytes(type, values.length));
  const view = new DataView(out.buffer);
  const half = floatToHalf(d);
  for (let b = 0; b < values.length / 256; b++) {
    pack((k) => (values[b * 256 + k] as number) + 1, out, b * blockBytes);
    view.setUint16(b * blockBytes + qsBytes, half, true);
  }
  return out;
}

/** Decodes ggml bytes back to float32. */

export function decodeGgml(type: GgmlTypeName, bytes: Uint8Array, elements: number): Float32Array {
  const out = new Float32Array(elements);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'F32':
      for (let i = 0; i < elements; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F16': {
      const table = halfTable();
      for (let i = 0; i < elements; i++) out[i] = table[view.getUint16(i * 2, true)] as number;
      return out;
    }
    case 'BF16':
      for (let i = 0; i < elements; i++) out[i] = bf16ToFloat(view.getUint16(i * 2, true));
      return out;
    case 'Q8_0':
      for (let b = 0; b < elements / 32; b++) {
        const d = halfToFloat(view.getUint16(b * 34, true));
        for (let i = 0; i < 32; i++) out[b * 32 + i] = Math.fround(view.getInt8(b * 34 + 2 + i) * d);
      }
      return out;
    case 'TQ2_0':
      for (let b = 0; b < elements / 256; b++) {
        const d = halfToFloat(view.getUint16(b * 66 + 64, true));
        for (let e = 0; e < 256; e++) {
          const byte = bytes[b * 66 + 32 * (e >> 7) + (e & 31)] as number;
          out[b * 256 + e] = Math.fround((((byte >> (2 * ((e >> 5) & 3))) & 3) - 1) * d);
        }
      }
      return out;
    case 'TQ1_0':
      for (let b = 0; b < elements / 256; b++) {
        const d = halfToFloat(view.getUint16(b * 54 + 52, true));
        for (let e = 0; e < 256; e++) {
          const [byte, trit] = e < 160 ? [e & 31, e >> 5] : e < 240 ? [32 + ((e - 160) & 15), (e - 160) >> 4] : [48 + ((e - 240) & 3), (e - 240) >> 2];
          out[b * 256 + e] = Math.fround((decodeTrit(bytes[b * 54 + byte] as number, trit) - 1) * d);
        }
      }
      return out;
  }
}
