import { beforeAll, describe, expect, it } from 'vitest';
import { logitsDistillation, relationDistillation } from '../../src/train/distill.js';
import { tf, useBackend } from '../helpers/tf.js';

const softmax = (row: readonly number[], t: number): number[] => {
  const m = Math.max(...row.map((v) => v / t));
  const e = row.map((v) => Math.exp(v / t - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};
const kl = (p: readonly number[], q: readonly number[]): number => p.reduce((s, pi, i) => s + pi * Math.log(pi / (q[i] as number)), 0);

describe('distillation losses, against the formulas in plain arithmetic', () => {
  beforeAll(() => useBackend('cpu'));

  it('logits: T^2 * mean over positions of KL(softmax(teacher / T) || softmax(student / T))', () => {
    const student = [
      [1, 2, 0.5, -1],
      [0, 0, 3, 1],
      [2, -2, 1, 0],
    ];
    const teacher = [
      [0.5, 2.5, 0, -0.5],
      [1, -1, 2, 2],
      [2, -2, 1, 0],
    ];
    for (const t of [1, 2, 4]) {
      const want = (t * t * student.reduce((s, row, i) => s + kl(softmax(teacher[i] as number[], t), softmax(row, t)), 0)) / 3;
      const got = tf.tidy(() => logitsDistillation(tf.tensor3d([student]), tf.tensor3d([teacher]), t).dataSync()[0] as number);
      expect(got).toBeCloseTo(want, 5);
    }
    // the same distributions: nothing to learn
    const same = tf.tidy(() => logitsDistillation(tf.tensor2d(teacher), tf.tensor2d(teacher), 2).dataSync()[0] as number);
    expect(Math.abs(same)).toBeLessThan(1e-6);
  });

  it('attention relations: KL of softmax(X X^T / sqrt(d)) per head over the causal past, the mean over q, k, v', () => {
    // one batch, T = 3, two heads of d = 2
    const s = [
      [1, 0, 0.5, -1],
      [0.2, 1, -0.5, 0.3],
      [-1, 0.4, 1, 1],
    ];
    const t = [
      [0.8, 0.1, 0.5, -0.7],
      [0.1, 1.2, -0.2, 0.3],
      [-0.9, 0.5, 0.6, 1.1],
    ];
    const relation = (x: number[][], head: number, row: number): number[] => {
      const v = (r: number): number[] => (x[r] as number[]).slice(head * 2, head * 2 + 2);
      const scores = Array.from({ length: row + 1 }, (_, c) => (v(row)[0]! * v(c)[0]! + v(row)[1]! * v(c)[1]!) / Math.sqrt(2));
      return softmax(scores, 1);
    };
    let sum = 0;
    for (let h = 0; h < 2; h++) for (let r = 0; r < 3; r++) sum += kl(relation(t, h, r), relation(s, h, r));
    const one = sum / 6;
    const got = tf.tidy(() => {
      const st = tf.tensor3d([s]);
      const tt = tf.tensor3d([t]);
      return relationDistillation([st, st, st], [tt, tt, tt], [2, 2, 2]).dataSync()[0] as number;
    });
    expect(got).toBeCloseTo(one, 5);
  });
});
