// BitLinear's inference mode on tfjs-webgpu runs on the WGSL kernels (activation quantization and
// the ternary product on the GPU). On machines without a GPU (CI), Dawn's OpenGL backend on Mesa's
// llvmpipe gives a software adapter; the outputs must equal the cpu backend's bit for bit.
import { describe, expect, it } from 'vitest';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { prepareInference } from '../../src/nn/prepare-inference.js';
import { expectBitNetError } from '../helpers/errors.js';
import { SeededRandom } from '../../src/util/random.js';
import { seededArray, tf, useBackend, webgpuForTests } from '../helpers/tf.js';
import { tieRows } from '../helpers/ties.js';

const available = await webgpuForTests('BitLinear on webgpu');

function layer(units: number, inDim: number, seed: number, extra: Partial<ConstructorParameters<typeof BitLinear>[0]> = {}): BitLinear {
  const l = new BitLinear({ units, inference: true, useBias: true, ...extra });
  l.build([null, inDim]);
  // the kernel [in, units] (the one 2D weight), the bias and, with the sub-LN norm, its gain
  l.setWeights(
    l
      .getWeights()
      .map((w, i) =>
        w.rank === 2
          ? tf.tensor2d(seededArray(inDim * units, seed, 0.1), [inDim, units])
          : tf.add(tf.tensor(seededArray(w.size, seed + i, 0.5), w.shape), w.shape[0] === inDim ? 1 : 0),
      ),
  );
  return l;
}

describe.runIf(available)('BitLinear inference on webgpu (WGSL kernels)', () => {
  // Without the sub-LN norm the layer is quantization, product, bias and activation: bit for bit.
  // tfjs computes the norm itself, and its webgpu reductions round differently from cpu's, so
  // with the norm an int8 activation can move by one step: close, not equal.
  it('equals the cpu backend: bit for bit without the norm, within one quantization step with it; 2D and 3D inputs', async () => {
    for (const [units, inDim, rows, extra] of [
      [48, 300, 5, { useRmsNorm: false }],
      [64, 256, 40, { useRmsNorm: false, activation: 'relu' }],
      [10, 700, 1, { useRmsNorm: false }],
      [64, 512, 8, { useRmsNorm: true }],
      [32, 384, 6, { useRmsNorm: false, ties: true }],
    ] as const) {
      const x = 'ties' in extra ? tieRows(rows, inDim, new SeededRandom(units)) : seededArray(rows * inDim, units, 3);
      await useBackend('cpu');
      const l = layer(units, inDim, units + 7, { useRmsNorm: extra.useRmsNorm, ...('activation' in extra ? { activation: extra.activation } : {}) });
      const want = await (l.apply(tf.tensor2d(x, [rows, inDim])) as tf.Tensor).data();
      await useBackend('webgpu');
      l.setInference(true);
      await prepareInference({ layers: [l] });
      const before = tf.memory().numTensors;
      const input = tf.tensor3d(x, [1, rows, inDim]);
      const y = l.apply(input) as tf.Tensor;
      expect(y.shape).toEqual([1, rows, units]);
      const got = await y.data();
      if (extra.useRmsNorm) {
        const scale = (want as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let i = 0; i < want.length; i++) expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThan(scale * 0.02);
      } else {
        expect(got, `${units}x${inDim}, ${rows} rows`).toEqual(want);
      }
      tf.dispose([input, y]);
      expect(tf.memory().numTensors).toBe(before);
    }
  }, 120_000);

  it('weights that live on the GPU: a clear error without prepareInference, the right result with it', async () => {
    await useBackend('webgpu');
    const l = layer(32, 256, 5, { useRmsNorm: false });
    const weights = l.getWeights();
    const kernel = weights.find((w) => w.rank === 2) as tf.Tensor;
    const saved = await Promise.all(weights.map(async (w) => ({ data: (await w.data()) as Float32Array, shape: w.shape, twice: w === kernel })));
    l.setWeights(weights.map((w) => (w === kernel ? tf.mul(kernel, 2) : w)));
    l.setInference(true);
    const x = tf.tensor2d(seededArray(3 * 256, 9), [3, 256]);
    expectBitNetError(() => l.apply(x), 'BACKEND_UNAVAILABLE', undefined);
    expect(await prepareInference({ layers: [l] })).toBe(1);
    const y = await (l.apply(x) as tf.Tensor).data();
    await useBackend('cpu');
    const ref = layer(32, 256, 5, { useRmsNorm: false });
    ref.setWeights(saved.map((w) => tf.tensor(w.twice ? w.data.map((v) => v * 2) : w.data, w.shape)));
    expect(y).toEqual(await (ref.apply(tf.tensor2d(seededArray(3 * 256, 9), [3, 256])) as tf.Tensor).data());
  }, 60_000);
});
