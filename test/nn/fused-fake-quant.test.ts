// Issue #16: BitLinear's training-time fake quantization on tfjs-webgpu runs as one fused WGSL
// program after its reduction. It must give what the tfjs operations give on webgpu, bit for bit
// (the same float32 steps), and what the cpu backend gives (its reductions round differently:
// within float rounding, no value moved to another quantization level). On llvmpipe in CI.
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

  it('a kernel per tensor: equal to the tfjs operations on webgpu, and to cpu within rounding', async () => {
    const make = (): tf.Tensor2D => tf.tensor2d(seededArray(300 * 48, 5, 0.1), [300, 48]);
    const run = (fused: boolean) => (): tf.Tensor =>
      tf.tidy(() => (fused ? fakeQuantKernelFused(make(), 'tensor', 1e-5) : fakeQuantKernel(make(), 'tensor', 1e-5)));
    const fused = await on('webgpu', run(true));
    expect(fused).toEqual(await on('webgpu', run(false)));
    const cpu = await on('cpu', run(false));
    const beta = Math.max(...cpu.map(Math.abs));
    fused.forEach((v, i) => expect(Math.abs(v - (cpu[i] as number))).toBeLessThanOrEqual(1e-5 * beta));
    expect(new Set(fused.map((v) => Math.sign(v))).size).toBe(3);
  });
});
