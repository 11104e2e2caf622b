import { BitNetError } from '../errors.js';
import { TERNARY_BLOCK } from './pack.js';

/**
 * Storage formats a ternary weight can be written in, with their byte cost:
 * - `f32`, `f16`, `bf16`: dequantized floats.
 * - `int8`: one byte per weight plus f32 scales.
 * - `packed2`: this project's kernel layout (2 bits, TQ2_0 `qs` order, rows padded to 256) plus f32 scales.
 * - `base3`: 5 trits per byte (TQ1_0 order, rows padded to 256) plus f32 scales.
 * - `hf`: HuggingFace `pack_weights` (4 per byte along out_features) plus f32 scales.
 * - `tq2_0` / `tq1_0`: ggml blocks of 256 weights (66 / 54 bytes, f16 scale inside each block).
 */
export const WEIGHT_STORAGE_FORMATS = ['f32', 'f16', 'bf16', 'int8', 'packed2', 'base3', 'hf', 'tq2_0', 'tq1_0'] as const;
export type WeightStorageFormat = (typeof WEIGHT_STORAGE_FORMATS)[number];

export function storageByteSize(format: WeightStorageFormat, shape: readonly [number, number], scaleCount: number): number {
  const [out, inF] = shape;
  const blocksPerRow = Math.ceil(inF / TERNARY_BLOCK);
  const scaleBytes = scaleCount * 4;
  switch (format) {
    case 'f32':
      return out * inF * 4;
    case 'f16':
    case 'bf16':
      return out * inF * 2;
    case 'int8':
      return out * inF + scaleBytes;
    case 'packed2':
      return out * blocksPerRow * 64 + scaleBytes;
    case 'base3':
      return out * blocksPerRow * 52 + scaleBytes;
    case 'hf':
      return Math.ceil(out / 4) * inF + scaleBytes;
    case 'tq2_0':
      return out * blocksPerRow * 66;
    case 'tq1_0':
      return out * blocksPerRow * 54;
    default:
      throw new BitNetError('INVALID_ARGUMENT', `unknown storage format ${String(format)}`, {
        field: 'format',
        hint: `one of ${WEIGHT_STORAGE_FORMATS.join(', ')}`,
      });
  }
}
