/**
 * llama.cpp's Q8_K activation quantization (quantize_row_q8_K_ref): per block of 256 values the
 * element of largest magnitude `max` (signed) maps to -127: iscale = -127 / max,
 * q = min(127, round_half_even(iscale * x)), d = 1 / iscale. An all-zero block has d = 0.
 */
export function quantizeQ8K(x: Float32Array): { q: Int8Array; d: Float32Array } {
  const blocks = x.length / 256;
  const q = new Int8Array(x.length);
  const d = new Float32Array(blocks);
  const f32 = Math.fround;
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = b * 256; j < (b + 1) * 256; j++) {
      const ax = Math.abs(x[j] as number);
      if (ax > amax) {
        amax = ax;
        max = x[j] as number;
      }
    }
    if (amax === 0) continue;
    const iscale = f32(-127 / max);
    for (let j = b * 256; j < (b + 1) * 256; j++) {
      const v = f32(iscale * (x[j] as number));
      // round half to even, as ggml's nearest_int (float magic-number trick) does
      const r = v + 6755399441055744 - 6755399441055744;
      q[j] = Math.min(127, r);
    }
    d[b] = f32(1 / iscale);
  }
  return { q, d };
}
