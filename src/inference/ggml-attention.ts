import { dotF16, type F16DotOrder } from '../kernels/ggml-f16-dot.js';
import { expfAvx2, expfAvx512, fmaf, type GgmlIsa } from '../kernels/ggml-float.js';
import { libmCosSin } from '../kernels/native/tier.js';
import { roundToHalf } from '../util/half.js';

/**
 * Attention as llama.cpp's CPU graph computes it without flash attention: KQ = K(f16) · q(f16),
 * softmax with the scale and causal mask (ggml_soft_max_ext), KQV = Vᵀ(f16) · p(f16). llama.cpp
 * pads the KV length it attends over to a multiple of 256 (masked cells weigh exactly 0).
 */
const f32 = Math.fround;
export const GGML_KV_PADDING = 256;

/** ggml_soft_max_ext of one row of scores over `length` unmasked cells (then zeros to `padded`). */
export function ggmlSoftmax(
  scores: Float32Array,
  length: number,
  scale: number,
  isa: GgmlIsa,
  padded = Math.ceil(length / GGML_KV_PADDING) * GGML_KV_PADDING,
): Float32Array {
  const w = new Float32Array(padded).fill(-Infinity);
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    w[i] = f32((scores[i] as number) * scale);
    if ((w[i] as number) > max) max = w[i] as number;
  }
  const exp = isa === 'avx512' ? expfAvx512 : expfAvx2;
  const lanes = isa === 'avx512' ? 16 : 8;
  const p = new Float32Array(padded);
  const chunk = new Array<number>(lanes);
  let sum = 0;
  for (let i = 0; i < padded; i += lanes) {
    for (let l = 0; l < lanes; l++) {
      const x = w[i + l] as number;
      p[i + l] = x === -Infinity ? 0 : exp(f32(x - max));
      chunk[l] = p[i + l] as number;
    }
    for (let n = lanes / 2; n >= 1; n /= 2) for (let l = 0; l < n; l++) chunk[l] = f32((chunk[l + n] as number) + (chunk[l] as number));
    sum += chunk[0] as number;
  }
  const inv = f32(1 / sum);
  for (let i = 0; i < padded; i++) p[i] = f32((p[i] as number) * inv);
  return p;
}

/**
 * One query row at `pos` (it sees cells 0..pos). `order`: 'vec' when llama.cpp decodes one token,
 * 'tiny' when the row is part of a batch of two or more (a prompt).
 */
export function ggmlAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  pos: number,
  heads: number,
  kvHeads: number,
  hd: number,
  order: F16DotOrder,
  isa: GgmlIsa,
): Float32Array {
  const kvDim = hd * kvHeads;
  const group = heads / kvHeads;
  const length = pos + 1;
  const padded = Math.ceil(length / GGML_KV_PADDING) * GGML_KV_PADDING;
  const scale = f32(1 / f32(Math.sqrt(hd)));
  const qh = q.map(roundToHalf);
  const out = new Float32Array(heads * hd);
  const scores = new Float32Array(length);
  const vt = new Float32Array(padded);
  for (let h = 0; h < heads; h++) {
    const kvBase = Math.floor(h / group) * hd;
    for (let t = 0; t < length; t++) scores[t] = dotF16(order, isa, k, t * kvDim + kvBase, qh, h * hd, hd);
    const p = ggmlSoftmax(scores, length, scale, isa, padded).map(roundToHalf);
    for (let i = 0; i < hd; i++) {
      for (let t = 0; t < length; t++) vt[t] = v[t * kvDim + kvBase + i] as number;
      out[h * hd + i] = dotF16(order, isa, vt, 0, p, 0, padded);
    }
  }
  return out;
}

/**
 * ggml's RoPE rotation of each pair (i, i + headDim/2) in place: float cos and sin (the C
 * library's cosf/sinf through the native addon, as llama.cpp takes them; else Math.cos/sin
 * rounded to float, which differ from some C libraries' in the last bit for a few angles), the
 * first product of each output fused with the sum (FMA).
 */
export function ggmlRopeRow(x: Float32Array, heads: number, hd: number, angles: Float32Array): void {
  const half = hd / 2;
  const theta = angles.subarray(0, half);
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  const libm = libmCosSin();
  if (libm !== undefined) libm(theta, cos, sin);
  else
    theta.forEach((t, i) => {
      cos[i] = Math.cos(t);
      sin[i] = Math.sin(t);
    });
  for (let i = 0; i < half; i++) {
    const c = cos[i] as number;
    const s = sin[i] as number;
    for (let h = 0; h < heads; h++) {
      const a = x[h * hd + i] as number;
      const b = x[h * hd + i + half] as number;
      x[h * hd + i] = fmaf(a, c, -f32(b * s));
      x[h * hd + i + half] = fmaf(a, s, f32(b * c));
    }
  }
}
