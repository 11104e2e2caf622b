// Issue #16: BitLinear's training-time fake quantization on tfjs-webgpu runs as one fused WGSL
// program after its reduction. Per token it must give what the tfjs operations give on webgpu, bit
// for bit (the same float32 steps); per tensor (a two-stage sum of its own) the absmean formula in
// double precision; both what the cpu backend gives within float rounding. On llvmpipe in CI.
import { describe, expect, it } from 'vitest';
import { fakeQuantActivationsFused, fakeQuantKernelFused } from '../../src/nn/fused-fake-quant.js';
import { fakeQuantActivations, fakeQuantKernel } from '../../src/quant/ste.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('fused fake quantization on webgpu');

async function on(backend: 'cpu' | 'webgpu', f: () => tf.Tensor): Promise<Float32Array> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const t = f();
  const values = (await t.data()) as Float32Array;
  t.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

describe.runIf(available)('fused fake quantization on webgpu', () => {
  it('activations per token: equal to the tfjs operations on webgpu, and to cpu within rounding', async () => {
    const make = (): tf.Tensor2D => tf.tensor2d(seededArray(7 * 300, 3, 2), [7, 300]);
    const run = (fused: boolean) => (): tf.Tensor =>
      tf.tidy(() => (fused ? fakeQuantActivationsFused(make(), 8, 'token', 1e-5) : fakeQuantActivations(make(), 8, 'token', 1e-5)));
    const fused = await on('webgpu', run(true));
    expect(fused).toEqual(await on('webgpu', run(false)));
    const cpu = await on('cpu', run(false));
    fused.forEach((v, i) => expect(Math.abs(v - (cpu[i] as number))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))));
  });

  it('a kernel per tensor: the absmean formula in double precision, and cpu within rounding', async () => {
    const values = seededArray(300 * 48, 5, 0.1);
    const make = (): tf.Tensor2D => tf.tensor2d(values, [300, 48]);
    const run = (fused: boolean) => (): tf.Tensor =>
      tf.tidy(() => (fused ? fakeQuantKernelFused(make(), 'tensor', 1e-5) : fakeQuantKernel(make(), 'tensor', 1e-5)));
    const fused = await on('webgpu', run(true));
    // REFERENCE.md: beta = mean |w|, w_q = clamp(round(w / beta), -1, 1) · beta
    const beta = values.reduce((a, v) => a + Math.abs(v), 0) / values.length;
    fused.forEach((v, i) => {
      const code = Math.max(-1, Math.min(1, Math.round((values[i] as number) / beta)));
      expect(Math.abs(v - code * beta)).toBeLessThanOrEqual(1e-6 * beta);
    });
    const cpu = await on('cpu', run(false));
    fused.forEach((v, i) => expect(Math.abs(v - (cpu[i] as number))).toBeLessThanOrEqual(1e-5 * beta));
    expect(new Set(fused.map((v) => Math.sign(v))).size).toBe(3);
  });
});
