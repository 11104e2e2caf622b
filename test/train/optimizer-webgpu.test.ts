// Issue #16: AdamW on tfjs-webgpu runs as fused WGSL programs (three dispatches per parameter, not
// sixteen). Its updates must be those of the generic path on the cpu backend, with and without a
// clip factor, with weight decay on matrices only; checked on Mesa's llvmpipe in CI.
import { describe, expect, it } from 'vitest';
import { Optimizer, clipScale } from '../../src/train/optimizer.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('AdamW on webgpu');

const SHAPES: number[][] = [[37, 21], [21], [5, 3, 4]];

/** Five AdamW steps on three parameters; the weights and moments afterwards, as plain arrays. */
async function train(backend: 'cpu' | 'webgpu', clip: number | undefined): Promise<number[][]> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const params = SHAPES.map((shape, i) => {
    const init = tf.tensor(
      seededArray(
        shape.reduce((a, d) => a * d, 1),
        10 + i,
        0.5,
      ),
      shape,
    );
    const variable = tf.variable(init);
    init.dispose();
    return { key: `p${i}`, variable };
  });
  const opt = new Optimizer({ type: 'adamw', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0.1, weightDecayOffAt: 1 });
  for (let step = 0; step < 5; step++) {
    const grads = new Map(params.map((p, i) => [p.key, tf.tensor(seededArray(p.variable.size, 100 * step + i, 2), p.variable.shape)]));
    const c = clip === undefined ? undefined : clipScale(grads, clip);
    opt.step(params, grads, 0.01, 0.1, c?.scale);
    tf.dispose([...grads.values(), ...(c === undefined ? [] : [c.norm, c.scale])]);
  }
  // webgpu has no synchronous read in Node
  const out = await Promise.all([...params.map((p) => p.variable), ...Object.values(opt.stateTensors())].map(async (t) => [...(await t.data())]));
  opt.dispose();
  for (const p of params) p.variable.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe.runIf(available)('AdamW fused on webgpu', () => {
  it.each([
    ['without clipping', undefined],
    ['with a clip factor on the device', 1],
  ])('equals the generic path on cpu %s (weights and both moments)', async (_name, clip) => {
    const cpu = await train('cpu', clip);
    const gpu = await train('webgpu', clip);
    expect(gpu.length).toBe(cpu.length);
    cpu.forEach((values, t) => {
      values.forEach((x, i) => expect(Math.abs(((gpu[t] as number[])[i] as number) - x)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(x))));
    });
    // the clip made a difference where it was asked for
    if (clip !== undefined) expect(cpu[0]).not.toEqual((await train('cpu', undefined))[0]);
  });
});
