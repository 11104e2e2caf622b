import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm, clipScale, Optimizer } from '../../src/train/optimizer.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';

function trainWith(step: (vars: tf.Variable[], grads: Record<string, tf.Tensor>) => void): Float32Array {
  const w = tf.variable(tf.tensor2d(seededArray(12, 1), [3, 4]), true, `w${Math.random()}`);
  const x = tf.tensor2d(seededArray(15, 2), [5, 3]);
  const y = tf.tensor2d(seededArray(20, 3), [5, 4]);
  for (let i = 0; i < 5; i++) {
    const { value, grads } = tf.variableGrads(() => tf.mean<tf.Scalar>(tf.square(tf.sub(tf.matMul(x, w), y))), [w]);
    step([w], grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  const out = Float32Array.from(w.dataSync());
  tf.dispose([w, x, y]);
  return out;
}

describe('Optimizer', () => {
  it('adam matches tf.train.adam', async () => {
    await useBackend('cpu');
    const reference = tf.train.adam(0.01, 0.9, 0.95, 1e-8);
    const expected = trainWith((_vars, grads) => reference.applyGradients(grads as tf.NamedTensorMap as never));
    const ours = new Optimizer({ type: 'adam', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0 });
    const got = trainWith((vars, grads) => {
      const v = vars[0] as tf.Variable;
      ours.step([{ key: 'w', variable: v }], new Map([['w', grads[v.name] as tf.Tensor]]), 0.01, 0);
    });
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i] as number, 6));
    ours.dispose();
  });

  it('sgd with momentum matches tf.train.momentum', async () => {
    await useBackend('cpu');
    const reference = tf.train.momentum(0.05, 0.9);
    const expected = trainWith((_vars, grads) => reference.applyGradients(grads as tf.NamedTensorMap as never));
    const ours = new Optimizer({ type: 'sgd', betas: [0.9, 0.95], eps: 1e-8, momentum: 0.9, weightDecay: 0 });
    const got = trainWith((vars, grads) => {
      const v = vars[0] as tf.Variable;
      ours.step([{ key: 'w', variable: v }], new Map([['w', grads[v.name] as tf.Tensor]]), 0.05, 0);
    });
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i] as number, 6));
    ours.dispose();
  });

  it('adamw decays matrices, not vectors, decoupled from the gradient', () => {
    const opt = new Optimizer({ type: 'adamw', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0.1 });
    const m = tf.variable(tf.ones([2, 2]));
    const b = tf.variable(tf.ones([2]));
    opt.step(
      [
        { key: 'm', variable: m },
        { key: 'b', variable: b },
      ],
      new Map([
        ['m', tf.zeros([2, 2])],
        ['b', tf.zeros([2])],
      ]),
      0.5,
      0.1,
    );
    expect([...m.dataSync()]).toEqual(new Array(4).fill(Math.fround(0.95)));
    expect([...b.dataSync()]).toEqual([1, 1]);
    opt.dispose();
  });

  it('state round-trips through stateTensors/loadState', () => {
    const opt = new Optimizer({ type: 'adam', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0 });
    const v = tf.variable(tf.ones([3]));
    opt.step([{ key: 'v', variable: v }], new Map([['v', tf.tensor1d([1, 2, 3])]]), 0.1, 0);
    const state = Object.fromEntries(Object.entries(opt.stateTensors()).map(([k, t]) => [k, tf.clone(t)]));
    const again = new Optimizer(opt.config);
    again.loadState(opt.stepCount, state);
    expect(again.stepCount).toBe(1);
    expect(Object.keys(again.stateTensors()).sort()).toEqual(['slot0/v', 'slot1/v']);
    expect([...(again.stateTensors()['slot1/v'] as tf.Tensor).dataSync()].map((x) => Number(x.toFixed(6)))).toEqual([0.05, 0.2, 0.45]);
  });

  it('clips on the device: clipScale gives the norm and the factor, and step() applies it as clipped gradients would', () => {
    const run = (clip: 'none' | 'scale' | 'clipped', grad: number[]): number[] => {
      const init = tf.tensor2d([1, -2, 0.5, 3], [2, 2]);
      const v = tf.variable(init);
      init.dispose();
      const opt = new Optimizer({ type: 'adamw', betas: [0.9, 0.95], eps: 1e-8, momentum: 0, weightDecay: 0, weightDecayOffAt: 1 });
      for (let i = 0; i < 3; i++) {
        const grads = new Map([['v', tf.tensor2d(grad, [2, 2])]]);
        const norm = Math.hypot(...grad);
        if (clip === 'clipped' && norm > 1) {
          const raw = grads.get('v') as tf.Tensor;
          grads.set('v', tf.mul(raw, 1 / norm));
          raw.dispose();
        }
        const c = clip === 'scale' ? clipScale(grads, 1) : undefined;
        if (c !== undefined) expect(c.norm.dataSync()[0]).toBeCloseTo(norm, 5);
        opt.step([{ key: 'v', variable: v }], grads, 0.1, 0.01, c?.scale);
        tf.dispose([...grads.values(), ...(c === undefined ? [] : [c.norm, c.scale])]);
      }
      const out = [...v.dataSync()];
      opt.dispose();
      v.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    // above the limit: the same update as gradients clipped first (to float rounding)
    const big = [3, 0, 0, 4];
    const scaled = run('scale', big);
    run('clipped', big).forEach((x, i) => expect(scaled[i]).toBeCloseTo(x, 6));
    // below it: bit for bit the unclipped update
    const small = [0.3, 0, 0, 0.4];
    expect(run('scale', small)).toEqual(run('none', small));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('clips gradients to a global norm', async () => {
    const grads = new Map([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([0, 4])],
    ]);
    expect(await clipByGlobalNorm(grads, 1)).toBeCloseTo(5, 6);
    expect([...(grads.get('a') as tf.Tensor).dataSync(), ...(grads.get('b') as tf.Tensor).dataSync()].map((x) => Number(x.toFixed(6)))).toEqual([
      0.6, 0, 0, 0.8,
    ]);
  });
});
