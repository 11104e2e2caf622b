import type { LrSchedule, QuantWarmup } from './schema.js';

/**
 * Learning rate at `step` (0-based) of `total`: linear warm-up to `peak`, then
 * - constant: peak;  cosine: from peak to minRatio * peak;  linear: likewise, linearly;
 * - two-stage (BitNet): linear decay from peak towards minRatio * peak, restarting at
 *   `switchAt` of training from secondPeakRatio * peak down to minRatio * peak at the end.
 */
export function learningRate(schedule: LrSchedule, peak: number, step: number, total: number): number {
  const warmup = schedule.warmupSteps;
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const progress = Math.min(1, (step - warmup) / span);
  switch (schedule.type) {
    case 'constant':
      return peak;
    case 'cosine':
      return peak * (schedule.minRatio + (1 - schedule.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    case 'linear':
      return peak * (1 - (1 - schedule.minRatio) * progress);
    case 'two-stage': {
      const { switchAt, secondPeakRatio, minRatio } = schedule;
      if (progress < switchAt) return peak * (1 - (1 - minRatio) * progress);
      const stage = (progress - switchAt) / (1 - switchAt);
      return peak * (secondPeakRatio - (secondPeakRatio - minRatio) * stage);
    }
  }
}

/** Weight decay at `step`: BitNet's second stage turns it off after `offAt` of training. */
export function weightDecayAt(weightDecay: number, offAt: number | undefined, step: number, total: number): number {
  return offAt !== undefined && step >= offAt * total ? 0 : weightDecay;
}

/**
 * Quantization strength lambda at `step` (HF blog "Fine-tuning LLMs to 1.58bit"):
 * linear min(step/N, 1); exponential 1 - (1 - step/N)^k; sigmoid 1 / (1 + exp(-k (step/N - 0.5)));
 * 1 from step N on.
 */
export function quantLambda(warmup: QuantWarmup, step: number): number {
  if (warmup.type === 'none' || step >= warmup.steps) return 1;
  const x = step / warmup.steps;
  switch (warmup.type) {
    case 'linear':
      return x;
    case 'exponential':
      return 1 - (1 - x) ** warmup.k;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-warmup.k * (x - 0.5)));
  }
}
