import { beforeAll, describe, expect, it } from 'vitest';
import { bitLinear, type BitLinear } from '../../src/nn/bit-linear.js';
import { kernelToTorch } from '../../src/nn/layout.js';
import { quantizeActivations } from '../../src/quant/activation.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { expectBitNetError } from '../helpers/errors.js';
import { leakedTensors, seededArray, tf, useBackend } from '../helpers/tf.js';

const f32 = Math.fround;
const IN = 64;
const OUT = 24;
const N = 5;

function makeLayer(args: Partial<Parameters<typeof bitLinear>[0]> = {}): { layer: BitLinear; kernel: Float32Array } {
  const layer = bitLinear({ units: OUT, useRmsNorm: false, ...args });
  layer.build([null, IN]);
  const kernel = seededArray(IN * OUT, 7, 0.1);
  const weights: tf.Tensor[] = [tf.tensor2d(kernel, [IN, OUT])];
  if (layer.useBias) weights.push(tf.tensor1d(seededArray(OUT, 8, 0.5)));
  const [k, ...rest] = weights;
  layer.setWeights(layer.quant.useRmsNorm ? [tf.ones([IN]), k as tf.Tensor, ...rest] : weights);
  tf.dispose(weights);
  return { layer, kernel };
}

/** The reference forward pass from the Float32Array API, in float64: deq(x) @ deq(W)^T. */
function referenceForward(x: Float32Array, kernel: Float32Array, groupSize: number | 'tensor' = 'tensor'): Float64Array {
  const w = quantizeWeights(kernelToTorch(kernel, IN, OUT), [OUT, IN], { groupSize }).dequantize();
  const a = quantizeActivations(x, [N, IN]).dequantize();
  const y = new Float64Array(N * OUT);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      let acc = 0;
      for (let i = 0; i < IN; i++) acc += (a[n * IN + i] as number) * (w[o * IN + i] as number);
      y[n * OUT + o] = acc;
    }
  }
  return y;
}

/** Frees a layer's weights and inference cache (Layer.dispose only works for layers used in a model). */
function release(layer: BitLinear): void {
  layer.setInference(false);
  for (const w of layer.weights) w.dispose();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

function run(layer: BitLinear, x: Float32Array, shape: number[] = [N, IN]): Float32Array {
  return tf.tidy(() => (layer.apply(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}

describe.each(['cpu', 'wasm'] as const)('BitLinear on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const x = seededArray(N * IN, 11, 2);

  it('training forward equals deq(x) @ deq(W) from the Float32Array API', () => {
    for (const groupSize of ['tensor', 16] as const) {
      const { layer, kernel } = makeLayer({ groupSize });
      const y = run(layer, x);
      expect(maxAbsDiff(y, referenceForward(x, kernel, groupSize))).toBeLessThan(1e-5);
      release(layer);
    }
  });

  it('inference forward is exact integer arithmetic: acc * (beta * 1/s)', () => {
    const { layer, kernel } = makeLayer();
    layer.setInference(true);
    const y = run(layer, x);
    const w = quantizeWeights(kernelToTorch(kernel, IN, OUT), [OUT, IN]);
    const a = quantizeActivations(x, [N, IN]);
    const beta = w.scales[0] as number;
    const expected = new Float32Array(N * OUT);
    for (let n = 0; n < N; n++) {
      const c = f32(beta * (a.scales[n] as number));
      for (let o = 0; o < OUT; o++) {
        let acc = 0;
        for (let i = 0; i < IN; i++) acc += (a.values[n * IN + i] as number) * (w.values[o * IN + i] as number);
        expected[n * OUT + o] = f32(acc * c);
      }
    }
    expect(y).toEqual(expected);
    release(layer);
  });

  it('inference and training outputs agree to float32 rounding, per tensor and per group, with RMSNorm and bias', () => {
    for (const args of [{}, { groupSize: 16 }, { useRmsNorm: true, useBias: true }, { groupSize: 32, activationScope: 'tensor' as const }]) {
      const { layer } = makeLayer(args);
      const train = run(layer, x);
      layer.setInference(true);
      const infer = run(layer, x);
      const scale = Math.max(...train.map(Math.abs));
      expect(maxAbsDiff(train, infer) / scale).toBeLessThan(2e-6);
      release(layer);
    }
  });

  it('quantLambda = 0 is a plain linear layer, exactly', () => {
    const { layer, kernel } = makeLayer({ quantLambda: 0, useBias: true });
    const y = run(layer, x);
    const expected = tf.tidy(() =>
      tf.add(tf.matMul(tf.tensor2d(x, [N, IN]), tf.tensor2d(kernel, [IN, OUT])), tf.tensor1d(seededArray(OUT, 8, 0.5))).dataSync(),
    );
    expect(y).toEqual(expected);
    release(layer);
  });

  it('the straight-through gradient is the identity: grads equal those of deq(x) @ deq(W)', () => {
    for (const lambda of [1, 0.5]) {
      const { layer } = makeLayer({ quantLambda: lambda });
      const r = tf.tensor2d(seededArray(N * OUT, 5), [N, OUT]);
      const xt = tf.tensor2d(x, [N, IN]);
      const kernelVar = layer.trainableWeights.find((w) => w.originalName.endsWith('kernel'));
      if (kernelVar === undefined) throw new Error('no kernel');
      const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.mul(layer.apply(xt) as tf.Tensor, r)));
      const gx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, r)))(xt);
      // Reference: the same blended values as constants, through a plain matMul.
      const xq = tf.tidy(() => {
        const q = tf.tensor2d(quantizeActivations(x, [N, IN]).dequantize(), [N, IN]);
        return lambda === 1 ? q : tf.add(xt, tf.mul(lambda, tf.sub(q, xt)));
      });
      const wq = tf.tidy(() => {
        const k = kernelVar.read();
        const fake = tf.tidy(() => {
          const beta = tf.maximum(tf.mean(tf.abs(k)), f32(1e-5));
          return tf.mul(tf.clipByValue(tf.round(tf.mul(k, tf.reciprocal(beta))), -1, 1), beta);
        });
        return lambda === 1 ? fake : tf.add(k, tf.mul(lambda, tf.sub(fake, k)));
      });
      const [refGx, refGw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), r)))([xq, wq]);
      const kernelGrad = grads[kernelVar.name];
      expect(kernelGrad).toBeDefined();
      expect(maxAbsDiff(gx.dataSync(), (refGx as tf.Tensor).dataSync())).toBeLessThan(1e-5);
      expect(maxAbsDiff((kernelGrad as tf.Tensor).dataSync(), (refGw as tf.Tensor).dataSync())).toBeLessThan(1e-5);
      // STE: dL/dx is r @ deq(W)^T, nothing from the rounding.
      expect(value.dataSync()[0]).toBeCloseTo(
        tf.tidy(() => tf.sum(tf.mul(tf.matMul(xq, wq), r)).dataSync()[0] as number),
        3,
      );
      tf.dispose([r, xt, value, gx, xq, wq, refGx, refGw, ...Object.values(grads)]);
      release(layer);
    }
  });

  it('takes 2-D and 3-D inputs; a 3-D output equals the 2-D output reshaped', () => {
    for (const args of [{}, { useBias: true, useRmsNorm: true }]) {
      const { layer } = makeLayer(args);
      const y2 = run(layer, x, [N, IN]);
      const x3 = new Float32Array([...x, ...x, ...x]).slice(0, 3 * N * IN);
      const y3 = tf.tidy(() => {
        const out = layer.apply(tf.tensor3d(x3, [3, N, IN])) as tf.Tensor;
        expect(out.shape).toEqual([3, N, OUT]);
        return out.dataSync() as Float32Array;
      });
      expect(y3.slice(0, N * OUT)).toEqual(y2);
      expect(layer.computeOutputShape([null, 7, IN])).toEqual([null, 7, OUT]);
      release(layer);
    }
  });

  it('leaks no tensors in forward, backward, inference and predict', async () => {
    const { layer } = makeLayer({ useRmsNorm: true, useBias: true, groupSize: 16 });
    const xt = tf.tensor2d(x, [N, IN]);
    run(layer, x);
    expect(await leakedTensors(() => tf.dispose(layer.apply(xt) as tf.Tensor))).toBe(0);
    expect(
      await leakedTensors(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(layer.apply(xt) as tf.Tensor));
        tf.dispose([value, ...Object.values(grads)]);
      }),
    ).toBe(0);
    layer.setInference(true);
    run(layer, x); // builds the cache of ternary weights once
    expect(await leakedTensors(() => tf.dispose(layer.apply(xt) as tf.Tensor))).toBe(0);
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [IN] }), layer] });
    expect(await leakedTensors(() => tf.dispose(model.predict(xt) as tf.Tensor))).toBe(0);
    const before = tf.memory().numTensors;
    // on the packed kernels (the cpu backend) the cache holds no tensors: no float copy of q
    layer.setInference(false);
    expect(tf.memory().numTensors).toBe(before);
    xt.dispose();
    release(layer);
  });
});

describe('BitLinear configuration', () => {
  beforeAll(() => useBackend('cpu'));

  it('rejects bad arguments with BitNetErrors naming the field', () => {
    expectBitNetError(() => bitLinear({ units: 0 }), 'INVALID_CONFIG', 'units');
    expectBitNetError(() => bitLinear({ units: 4, quantLambda: 2 }), 'INVALID_CONFIG', 'quantLambda');
    expectBitNetError(() => bitLinear({ units: 4, groupSize: 12 }), 'INVALID_CONFIG', 'groupSize');
    expectBitNetError(() => bitLinear({ units: 4, activationBits: 9 }), 'INVALID_CONFIG', 'activationBits');
    const layer = bitLinear({ units: 4, groupSize: 64 });
    expectBitNetError(() => layer.build([null, 96]), 'INVALID_CONFIG', 'groupSize');
  });

  it('keeps Dense weight layout: a Dense kernel carries over and lambda 0 reproduces Dense', () => {
    const dense = tf.layers.dense({ units: OUT, useBias: true, inputShape: [IN] });
    const x = tf.tensor2d(seededArray(N * IN, 3), [N, IN]);
    const yDense = dense.apply(x) as tf.Tensor;
    const layer = bitLinear({ units: OUT, useBias: true, useRmsNorm: false, quantLambda: 0 });
    layer.build([null, IN]);
    layer.setWeights(dense.getWeights());
    const y = layer.apply(x) as tf.Tensor;
    expect(maxAbsDiff(y.dataSync(), yDense.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, yDense, y]);
    release(layer);
  });

  it('a NaN latent weight is reported when inference quantizes it', () => {
    const { layer } = makeLayer();
    const k = new Float32Array(IN * OUT).fill(0.1);
    k[5] = NaN;
    layer.setWeights([tf.tensor2d(k, [IN, OUT])]);
    layer.setInference(true);
    expectBitNetError(() => layer.ternaryWeight(), 'INVALID_DATA');
    release(layer);
  });
});
