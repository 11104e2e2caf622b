// The SwiGlu layer ([gate, up] -> silu(gate) · up) replaces a swish activation and a multiply
// layer in the bitnet-lm and llama builders. On the cpu backend it must be those two layers bit
// for bit (models saved before keep their numbers); on tfjs-webgpu (issue #16: one fused
// program forward, two backward) its value and both gradients must equal autograd on cpu.
import { describe, expect, it } from 'vitest';
import { registerLayers } from '../../src/nn/register.js';
import { SwiGlu } from '../../src/nn/swiglu.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';

const available = await webgpuForTests('fused SwiGLU on webgpu');
const SHAPE = [3, 5, 70];
const N = 3 * 5 * 70;

/** The layer's value and the gradients of sum(y · w) for gate and up. */
async function run(backend: 'cpu' | 'webgpu', f: (g: tf.Tensor, u: tf.Tensor) => tf.Tensor): Promise<Float32Array[]> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const g = tf.tensor(seededArray(N, 21, 6), SHAPE);
  const u = tf.tensor(seededArray(N, 22, 2), SHAPE);
  const w = tf.tensor(seededArray(N, 23, 1), SHAPE);
  const y = tf.tidy(() => f(g, u));
  const [dg, du] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w)))([g, u]);
  const out = await Promise.all([y, dg, du].map(async (t) => (await (t as tf.Tensor).data()) as Float32Array));
  tf.dispose([g, u, w, y, dg, du] as tf.Tensor[]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

const layer = new SwiGlu({ name: 'glu' });
const swiGlu = (g: tf.Tensor, u: tf.Tensor): tf.Tensor => layer.apply([g, u]) as tf.Tensor;
const twoLayers = (g: tf.Tensor, u: tf.Tensor): tf.Tensor =>
  tf.layers.multiply().apply([tf.layers.activation({ activation: 'swish' }).apply(g) as tf.Tensor, u]) as tf.Tensor;

describe('SwiGlu', () => {
  it('on cpu: the swish activation and multiply layers it replaces, bit for bit, value and gradients', async () => {
    const ours = await run('cpu', swiGlu);
    const theirs = await run('cpu', twoLayers);
    ours.forEach((values, i) => expect(values).toEqual(theirs[i]));
  });

  it('a model with it goes to model.json and back with the same outputs', async () => {
    await useBackend('cpu');
    registerLayers();
    const g = tf.input({ shape: [4] });
    const u = tf.input({ shape: [4] });
    const model = tf.model({ inputs: [g, u], outputs: new SwiGlu({ name: 'glu2' }).apply([g, u]) as tf.SymbolicTensor });
    const json = model.toJSON(undefined, false) as tf.io.ModelJSON['modelTopology'];
    expect(JSON.stringify(json)).toMatch(/"class_name":"(BitNet>)?SwiGlu"/);
    const again = await tf.models.modelFromJSON({ modelTopology: json });
    const x = [tf.tensor2d([[-3, -0.5, 0.5, 3]]), tf.tensor2d([[1, 2, 3, 4]])];
    const [a, b] = [model.predict(x) as tf.Tensor, again.predict(x) as tf.Tensor];
    expect(await b.data()).toEqual(await a.data());
    tf.dispose([...x, a, b]);
    model.dispose();
    again.dispose();
  });

  it.runIf(available)('on webgpu (fused): value and both gradients equal autograd on cpu within float rounding', async () => {
    const gpu = await run('webgpu', swiGlu);
    const cpu = await run('cpu', twoLayers);
    cpu.forEach((values, t) => {
      const scale = Math.max(...values.map(Math.abs));
      values.forEach((v, i) => expect(Math.abs(((gpu[t] as Float32Array)[i] as number) - v)).toBeLessThanOrEqual(2e-6 * scale));
    });
  });
});
