// Issue #16: RMSNorm on tfjs-webgpu runs as fused WGSL programs with a closed-form gradient. The
// forward must be the formula in double precision within float rounding; the value and both
// gradients must match autograd through the tfjs operations on the cpu backend. On llvmpipe in CI.
import { describe, expect, it } from 'vitest';
import { rmsNorm } from '../../src/nn/rms-norm.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('fused RMSNorm on webgpu');

const SHAPE = [2, 5, 48];
const EPS = 1e-5;

/** The tfjs operations of rmsNorm, written out (the path every other backend takes). */
const reference = (x: tf.Tensor, g: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), tf.scalar(EPS)))), g);

/** y, and the gradients of sum(y · w) for a fixed w, with respect to x and gamma. */
async function run(backend: 'cpu' | 'webgpu', f: (x: tf.Tensor, g: tf.Tensor) => tf.Tensor): Promise<Float32Array[]> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const x = tf.tensor(seededArray(2 * 5 * 48, 7, 1.5), SHAPE);
  const g = tf.tidy(() => tf.add(tf.tensor(seededArray(48, 8, 0.3)), 1));
  const w = tf.tensor(seededArray(2 * 5 * 48, 9, 1), SHAPE);
  const y = tf.tidy(() => f(x, g));
  const [dx, dg] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w)))([x, g]);
  const out = await Promise.all([y, dx, dg].map(async (t) => (await (t as tf.Tensor).data()) as Float32Array));
  tf.dispose([x, g, w, y, dx, dg] as tf.Tensor[]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe.runIf(available)('RMSNorm fused on webgpu', () => {
  it('forward: the formula x / sqrt(mean(x²) + eps) · g in double precision, within float rounding', async () => {
    const [fused] = await run('webgpu', (x, g) => rmsNorm(x, g, EPS));
    const xv = seededArray(2 * 5 * 48, 7, 1.5);
    const gv = seededArray(48, 8, 0.3).map((v) => Math.fround(v + 1));
    for (let r = 0; r < 10; r++) {
      const row = xv.subarray(r * 48, r * 48 + 48);
      const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / 48 + EPS);
      row.forEach((v, c) => {
        const want = (v / rms) * (gv[c] as number);
        expect(Math.abs(((fused as Float32Array)[r * 48 + c] as number) - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      });
    }
  });

  it('value and gradients (x and gamma): those of autograd on cpu, within float rounding', async () => {
    const gpu = await run('webgpu', (x, g) => rmsNorm(x, g, EPS));
    const cpu = await run('cpu', reference);
    cpu.forEach((values, t) => {
      const scale = Math.max(...values.map(Math.abs));
      values.forEach((v, i) => expect(Math.abs(((gpu[t] as Float32Array)[i] as number) - v)).toBeLessThanOrEqual(2e-5 * scale));
    });
  });
});
