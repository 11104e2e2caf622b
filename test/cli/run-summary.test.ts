// Issue #15, finding 10: a run stopped before its first evaluation says so instead of "test accuracy NaN%".
import { describe, expect, it } from 'vitest';
import { summaryLine } from '../../src/cli/commands/run.js';
import type { RunSummary } from '../../src/recipe/run.js';

const base: RunSummary = {
  name: 'r',
  dir: '/tmp/r',
  status: 'interrupted',
  signal: 'SIGINT',
  backend: 'cpu',
  steps: 3,
  totalSteps: 100,
  resumedFrom: null,
  test_loss: NaN,
  test_accuracy: NaN,
  modelBytes: 1234,
  parameters: 10,
  trainSeconds: 1.25,
};

describe('the run summary line', () => {
  it('does not print NaN for a run stopped before its evaluation', () => {
    const line = summaryLine(base);
    expect(line).not.toContain('NaN');
    expect(line).toContain('interrupted r: 3/100 steps on cpu in 1.3 s; not evaluated yet');
  });

  it('prints the evaluation when there is one', () => {
    expect(summaryLine({ ...base, status: 'completed', test_loss: 0.25, test_accuracy: 0.9125 })).toContain(
      'test accuracy 91.25%, test loss 0.2500; deployed size 1,234 bytes',
    );
  });
});
