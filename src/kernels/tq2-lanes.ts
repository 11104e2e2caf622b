/**
 * The summation order of llama.cpp's AVX2 TQ2_0 · Q8_K dot product (ggml_vec_dot_tq2_0_q8_K), the
 * one every x86 build from Haswell up runs. Per block of 256 it keeps eight int32 lanes; lane k
 * sums the products of columns {0, 128} + 32p + 4k + {0..3} (p = 0..3), with the stored codes
 * w + 1, minus the block's Q8_K partial sums of columns 32k..32k+31. Each lane is scaled by
 * d_x * d_w and added to a float lane; the eight float lanes are summed pairwise at the end.
 */
import { fmaf } from './ggml-float.js';

const f32 = Math.fround;

/** LANE_ORDER[32k + s]: the block column that lane k's s-th term reads. */
const LANE_ORDER = (() => {
  const order = new Int32Array(256);
  let i = 0;
  for (let k = 0; k < 8; k++) for (const half of [0, 128]) for (let p = 0; p < 4; p++) for (let t = 0; t < 4; t++) order[i++] = half + 32 * p + 4 * k + t;
  return order;
})();

/** Rows of [rows, cols] (cols a multiple of 256) with each block's columns in lane order. */
export function tq2LaneOrdered(values: Int8Array, shape: readonly [number, number]): Int8Array {
  const [rows, cols] = shape;
  const out = new Int8Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < cols; b += 256) {
      const base = r * cols + b;
      for (let i = 0; i < 256; i++) out[base + i] = values[base + (LANE_ORDER[i] as number)] as number;
    }
  }
  return out;
}

/** Per block and lane: what the stored codes (w + 1) and the bsums subtraction add to the ternary sum. */
export function tq2LaneCorrections(q: Int8Array): Int32Array {
  const out = new Int32Array(q.length / 32);
  for (let b = 0; b < q.length; b += 256) {
    for (let k = 0; k < 8; k++) {
      let c = 0;
      for (let s = 0; s < 32; s++) c += (q[b + (LANE_ORDER[32 * k + s] as number)] as number) - (q[b + 32 * k + s] as number);
      out[b / 32 + k] = c;
    }
  }
  return out;
}

/** One output: lane sums of the ternary products (lane order, 8 per block) to ggml's float result. */
export function tq2LaneSum(acc: Int32Array, corrections: Int32Array, d: Float32Array, dw: number): number {
  const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let b = 0; b < d.length; b++) {
    const dd = f32((d[b] as number) * dw);
    for (let k = 0; k < 8; k++) lanes[k] = fmaf((acc[b * 8 + k] as number) + (corrections[b * 8 + k] as number), dd, lanes[k] as number);
  }
  const [l0, l1, l2, l3, l4, l5, l6, l7] = lanes as [number, number, number, number, number, number, number, number];
  const r0 = f32(l4 + l0);
  const r1 = f32(l5 + l1);
  const r2 = f32(l6 + l2);
  const r3 = f32(l7 + l3);
  return f32(f32(r0 + r2) + f32(r1 + r3));
}
