import { halfTable } from '../formats/gguf/ggml-types.js';
import { loadNativeTier } from './native/tier.js';
import { defaultThreads } from './select.js';

/**
 * y = W x for W [rows, cols] in IEEE half precision (raw bits) and x in float32, accumulated in
 * float32: an F16 output head as llama.cpp stores token_embd. Native (AVX-512 / F16C, threaded)
 * when the addon is built, else TypeScript.
 */
export function gemvHalf(w: Uint16Array, rows: number, cols: number, x: Float32Array, threads = defaultThreads()): Float32Array {
  const out = new Float32Array(rows);
  const native = loadNativeTier();
  if (native !== null) {
    native.gemvHalf(w, rows, cols, x, out, rows * cols >= 1 << 22 ? threads : 1);
    return out;
  }
  const t = halfTable();
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let k = 0; k < cols; k++) acc = Math.fround(acc + Math.fround((t[w[base + k] as number] as number) * (x[k] as number)));
    out[r] = acc;
  }
  return out;
}
