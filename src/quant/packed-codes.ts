import { BitNetError } from '../errors.js';
import { paddedRowLength, TERNARY_BLOCK, TQ2_QS_BYTES, unpackTernary2, type TernaryShape } from './pack.js';

/**
 * A ternary matrix held only as its 2-bit codes, in one of the layouts the kernels read: 'rows'
 * (packTernary2's: rows of TQ2_0 `qs` blocks) or 'rows16' (the native vector kernels': per 16 rows
 * and 16 columns 64 bytes, byte 4i+j holding in field f the code of row i at column 4f+j;
 * src/kernels/native/ternary.c). Both take rows * paddedCols / 4 bytes when rows is a multiple of
 * 16, so the native tier may convert 'rows' to 'rows16' in place (`layout` then changes; the
 * values do not).
 */
export interface PackedCodes {
  readonly bytes: Uint8Array;
  layout: 'rows' | 'rows16';
}

/** The codes in the 'rows' layout: `bytes` itself, or a converted copy. */
export function rowsLayoutCodes(codes: PackedCodes, shape: TernaryShape): Uint8Array {
  if (codes.layout === 'rows') return codes.bytes;
  const [rows, inF] = shape;
  const cols = paddedRowLength(inF);
  const rowBytes = (cols / TERNARY_BLOCK) * TQ2_QS_BYTES;
  if (rows % 16 !== 0 || codes.bytes.length !== rows * rowBytes) {
    throw new BitNetError('INVALID_SHAPE', `'rows16' codes of ${codes.bytes.length} bytes do not fit [${rows}, ${inF}]`, { field: 'codes' });
  }
  const src = codes.bytes;
  const out = new Uint8Array(src.length);
  for (let r = 0; r < rows; r++) {
    const group = (r >> 4) * 4 * cols + 4 * (r & 15);
    for (let k = 0; k < cols; k++) {
      const code = ((src[group + (k >> 4) * 64 + (k & 3)] as number) >> (2 * ((k >> 2) & 3))) & 3;
      const e = k & 255;
      const at = r * rowBytes + (k >> 8) * TQ2_QS_BYTES + 32 * (e >> 7) + (e & 31);
      out[at] = (out[at] as number) | (code << (2 * ((e >> 5) & 3)));
    }
  }
  return out;
}

/** The ternary values of packed codes (a new array). */
export function unpackCodes(codes: PackedCodes, shape: TernaryShape): Int8Array {
  return unpackTernary2(rowsLayoutCodes(codes, shape), shape);
}
