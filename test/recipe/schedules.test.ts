import { describe, expect, it } from 'vitest';
import { learningRate, quantLambda, weightDecayAt } from '../../src/recipe/schedules.js';

describe('learning-rate schedules', () => {
  it('warms up linearly, then follows the shape', () => {
    const s = { type: 'constant', warmupSteps: 4 } as const;
    expect([0, 1, 2, 3, 4, 50].map((i) => learningRate(s, 1, i, 100))).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
  });
  it('cosine goes from the peak to minRatio * peak', () => {
    const s = { type: 'cosine', warmupSteps: 0, minRatio: 0.1 } as const;
    expect(learningRate(s, 2, 0, 100)).toBeCloseTo(2, 12);
    expect(learningRate(s, 2, 50, 100)).toBeCloseTo(2 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRate(s, 2, 100, 100)).toBeCloseTo(0.2, 12);
  });
  it('linear decays to minRatio * peak', () => {
    const s = { type: 'linear', warmupSteps: 10, minRatio: 0 } as const;
    expect(learningRate(s, 1, 10, 110)).toBe(1);
    expect(learningRate(s, 1, 60, 110)).toBeCloseTo(0.5, 12);
  });
  it('two-stage drops to the second peak at switchAt', () => {
    const s = { type: 'two-stage', warmupSteps: 0, switchAt: 0.5, secondPeakRatio: 0.66, minRatio: 0.1 } as const;
    expect(learningRate(s, 1.5e-3, 0, 100)).toBeCloseTo(1.5e-3, 15);
    expect(learningRate(s, 1.5e-3, 49, 100)).toBeCloseTo(1.5e-3 * (1 - 0.9 * 0.49), 15);
    expect(learningRate(s, 1.5e-3, 50, 100)).toBeCloseTo(1.5e-3 * 0.66, 15);
    expect(learningRate(s, 1.5e-3, 100, 100)).toBeCloseTo(1.5e-3 * 0.1, 15);
  });
  it('weight decay turns off in the second stage', () => {
    expect(weightDecayAt(0.1, 0.5, 49, 100)).toBe(0.1);
    expect(weightDecayAt(0.1, 0.5, 50, 100)).toBe(0);
    expect(weightDecayAt(0.1, undefined, 99, 100)).toBe(0.1);
  });
});

describe('quantization warm-up (lambda)', () => {
  it('none is 1 throughout', () => expect(quantLambda({ type: 'none' }, 0)).toBe(1));
  it('linear: min(step / N, 1)', () => {
    expect([0, 250, 1000, 2000].map((s) => quantLambda({ type: 'linear', steps: 1000 }, s))).toEqual([0, 0.25, 1, 1]);
  });
  it('exponential: 1 - (1 - step/N)^k', () => {
    expect(quantLambda({ type: 'exponential', steps: 100, k: 3 }, 50)).toBeCloseTo(1 - 0.5 ** 3, 12);
  });
  it('sigmoid: 1 / (1 + exp(-k (step/N - 0.5))), then 1', () => {
    expect(quantLambda({ type: 'sigmoid', steps: 100, k: 10 }, 50)).toBeCloseTo(0.5, 12);
    expect(quantLambda({ type: 'sigmoid', steps: 100, k: 10 }, 0)).toBeCloseTo(1 / (1 + Math.exp(5)), 12);
    expect(quantLambda({ type: 'sigmoid', steps: 100, k: 10 }, 100)).toBe(1);
  });
});
