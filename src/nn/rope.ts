import * as tf from '@tensorflow/tfjs';

/**
 * Rotary position embedding, NeoX style (pairs (i, i + d/2) of each head), with the angles
 * llama.cpp computes: theta_0 = pos, theta_{i+1} = theta_i * base^(-2/d), each product rounded
 * to float32. The tfjs attention layer and the inference runner both rotate by these angles.
 * `freqFactors` (llama3 rope scaling, llama.cpp's rope_freqs) divide each pair's angle.
 */
export function ropeAngles(pos0: number, count: number, headDim: number, base: number, freqFactors?: ArrayLike<number>): Float32Array {
  const half = headDim / 2;
  const scale = Math.fround(base ** (-2 / headDim));
  const out = new Float32Array(count * half);
  for (let t = 0; t < count; t++) {
    let theta = pos0 + t;
    for (let i = 0; i < half; i++) {
      out[t * half + i] = freqFactors === undefined ? theta : Math.fround(theta / (freqFactors[i] as number));
      theta = Math.fround(theta * scale);
    }
  }
  return out;
}

const tables = new Map<string, [Float32Array, Float32Array]>();

/** cos and sin of ropeAngles, [T, D/2] row-major each (as the tfjs operations compute them), kept per shape. */
export function ropeTableArrays(time: number, headDim: number, base: number, freqFactors: ArrayLike<number> | undefined): [Float32Array, Float32Array] {
  const key = `${time}/${headDim}/${base}/${freqFactors === undefined ? '' : Array.from(freqFactors).join(',')}`;
  let host = tables.get(key);
  if (host === undefined) {
    const angles = ropeAngles(0, time, headDim, base, freqFactors);
    host = [angles.map((a) => Math.cos(a)), angles.map((a) => Math.sin(a))];
    tables.set(key, host);
  }
  return host;
}

/** ropeTableArrays as two [T, D/2] tensors. */
export function ropeTables(time: number, headDim: number, base: number, freqFactors: ArrayLike<number> | undefined): [tf.Tensor2D, tf.Tensor2D] {
  const [cos, sin] = ropeTableArrays(time, headDim, base, freqFactors);
  return [tf.tensor2d(cos, [time, headDim / 2]), tf.tensor2d(sin, [time, headDim / 2])];
}

/** Rotates `heads` heads of x (one position, [heads * headDim]) in place by that position's ropeAngles; cos and sin in double, results rounded to float32. */
export function ropeRow(x: Float32Array, heads: number, headDim: number, angles: Float32Array): void {
  ropeRowCosSin(x, heads, headDim, Float64Array.from(angles, Math.cos), Float64Array.from(angles, Math.sin));
}

/** ropeRow with the angles' cos and sin (double) computed once for all of a position's rotations. */
export function ropeRowCosSin(x: Float32Array, heads: number, headDim: number, cosines: Float64Array, sines: Float64Array): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const cos = cosines[i] as number;
      const sin = sines[i] as number;
      const a = x[h * headDim + i] as number;
      const b = x[h * headDim + i + half] as number;
      x[h * headDim + i] = Math.fround(a * cos - b * sin);
      x[h * headDim + i + half] = Math.fround(a * sin + b * cos);
    }
  }
}

/** The same rotation on tensors [B, heads, T, headDim], positions 0..T-1. */
export function ropeTensor(x: tf.Tensor4D, base: number, freqFactors?: ArrayLike<number>): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , t, d] = x.shape;
    const angles = tf.tensor2d(ropeAngles(0, t, d, base, freqFactors), [t, d / 2]);
    const cos = tf.cos(angles);
    const sin = tf.sin(angles);
    const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
    return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x1, sin), tf.mul(x2, cos))], -1) as tf.Tensor4D;
  });
}

/**
 * The per-pair divisors of llama3 rope scaling (transformers' _compute_llama3_parameters, llama.cpp's
 * rope_freqs): long wavelengths slow down by `factor`, short ones keep theirs, the band between blends.
 */
export function llama3FreqFactors(
  headDim: number,
  base: number,
  s: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number },
): Float32Array {
  const lowWavelen = s.originalContext / s.lowFreqFactor;
  const highWavelen = s.originalContext / s.highFreqFactor;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const wavelen = 2 * Math.PI * base ** ((2 * i) / headDim);
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}
