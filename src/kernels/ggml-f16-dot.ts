import { fmaf, type GgmlIsa } from './ggml-float.js';

/**
 * F16 dot products in ggml's summation orders (values already rounded to half, as float32).
 * `vec`: ggml_vec_dot_f16, what a product with one input column runs (decoding): four vector
 * accumulators fed by FMA, a leftover tail in double. `tiny`: llamafile's tinyBLAS, what ggml
 * runs for two or more columns (a prompt): one vector accumulator over the whole length.
 */
export type F16DotOrder = 'vec' | 'tiny';

const f32 = Math.fround;

/**
 * fmaf(a, b, c) for half values a and b: their product is exact in 22 bits, so a double sum with c
 * is either exact or (operands more than 29 binades apart) cannot land on a float halfway point,
 * and one rounding to float gives the fused result.
 */
function fmaHalf(a: number, b: number, c: number): number {
  return f32(a * b + c);
}

/** _mm512_reduce_add_ps: halves added until one lane is left. */
function reduceHalving(v: number[]): number {
  let n = v.length;
  while (n > 1) {
    n /= 2;
    for (let i = 0; i < n; i++) v[i] = f32((v[i + n] as number) + (v[i] as number));
  }
  return v[0] as number;
}

/** GGML_F32x8_REDUCE's last step: low half plus high half, then two horizontal adds. */
function reduceHadd8(v: number[]): number {
  const t = [0, 1, 2, 3].map((i) => f32((v[i] as number) + (v[i + 4] as number))) as [number, number, number, number];
  return f32(f32(t[0] + t[1]) + f32(t[2] + t[3]));
}

/**
 * ggml's AMX-buffer F16 kernel (tinygemm_kernel_avx): w (half values) times x (float values,
 * not rounded to half), one 16-lane accumulator over the length, then the lanes halved.
 */
export function dotF16Amx(w: Float32Array, wOff: number, x: Float32Array, n: number): number {
  const acc = new Array<number>(16).fill(0);
  for (let i = 0; i < n; i += 16) for (let l = 0; l < 16; l++) acc[l] = fmaf(x[i + l] as number, w[wOff + i + l] as number, acc[l] as number);
  return reduceHalving(acc);
}

/** The dot product of a[aOff..aOff+n) and b[bOff..bOff+n) with `stride` between b's elements. */
export function dotF16(order: F16DotOrder, isa: GgmlIsa, a: Float32Array, aOff: number, b: Float32Array, bOff: number, n: number, stride = 1): number {
  const lanes = isa === 'avx512' ? 16 : 8;
  if (order === 'tiny') {
    // callers keep n a multiple of the vector width, as tinyBLAS requires
    const acc = new Array<number>(lanes).fill(0);
    for (let i = 0; i < n; i += lanes)
      for (let l = 0; l < lanes; l++) acc[l] = fmaHalf(a[aOff + i + l] as number, b[bOff + (i + l) * stride] as number, acc[l] as number);
    return reduceHalving(acc);
  }
  const step = lanes * 4;
  const np = n - (n % step);
  const sum = [0, 1, 2, 3].map(() => new Array<number>(lanes).fill(0));
  for (let i = 0; i < np; i += step) {
    for (let j = 0; j < 4; j++) {
      const s = sum[j] as number[];
      const o = i + j * lanes;
      for (let l = 0; l < lanes; l++) s[l] = fmaHalf(a[aOff + o + l] as number, b[bOff + (o + l) * stride] as number, s[l] as number);
    }
  }
  const [s0, s1, s2, s3] = sum as [number[], number[], number[], number[]];
  const x = s0.map((v, l) => f32(f32(v + (s2[l] as number)) + f32((s1[l] as number) + (s3[l] as number))));
  let total: number = isa === 'avx512' ? reduceHalving(x) : reduceHadd8(x);
  for (let i = np; i < n; i++) total += f32((a[aOff + i] as number) * (b[bOff + i * stride] as number));
  return f32(total);
}
