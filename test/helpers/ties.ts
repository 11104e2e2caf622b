import type { SeededRandom } from '../../src/util/random.js';

/**
 * Activations whose int8 quantization is all exact ties: each row's absmax is 127, so the scale
 * s = f32(f32(1 / 127) * 127) is exactly 1, and every other value is n + 0.5. Round half to even
 * (PyTorch's torch.round) and round half up (floor(x + 0.5)) disagree on half of them.
 */
export function tieRows(rows: number, cols: number, rng: SeededRandom): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) x[r * cols + c] = rng.int(254) - 127 + 0.5;
    x[r * cols + rng.int(cols)] = rng.int(2) === 0 ? 127 : -127;
  }
  return x;
}

/** The int8 values of tieRows by the rule itself: half to even. */
export function tiesToEven(x: Float32Array): Int8Array {
  return Int8Array.from(x, (v) => {
    const f = Math.floor(v);
    if (v - f !== 0.5) return Math.round(v);
    return f % 2 === 0 ? f : f + 1;
  });
}
