// Issue #18: the shipped chat recipe (recipes/shakespeare-chat-bitnet.json) end to end, on the tiny
// chat checkpoint instead of the shared 21M model CI does not have: JSONL chat data through the
// template, the bitnet adapter, evaluations with bits per byte and greedy samples, the report.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { readMetrics } from '../../src/recipe/metrics.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { runRecipe } from '../../src/recipe/run.js';
import { silentReporter } from '../../src/report/reporter.js';

describe('recipes/shakespeare-chat-bitnet.json', () => {
  it('trains the chat set with masked replies, evaluates, samples and reports', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'bitnet-chat-')), 'run');
    const recipe = loadRecipe('recipes/shakespeare-chat-bitnet.json', {
      set: [
        'model.path=test/golden/hf-llama-chat-tiny',
        'train.steps=4',
        'train.evalInterval=2',
        'train.logInterval=2',
        'data.evalTokens=512',
        `output.dir=${dir}`,
        'samples.maxTokens=6',
      ],
    });
    const info: string[] = [];
    const summary = await runRecipe(recipe, { reporter: { ...silentReporter, info: (m: string) => info.push(m) } });
    expect(summary.status).toBe('completed');
    expect(info.some((m) => /(tokenized the data into|read the tokenized data from) .*\(1600 examples/.test(m))).toBe(true);
    const lines = readMetrics(join(dir, 'metrics.jsonl'));
    const evals = lines.filter((l) => typeof l.test_loss === 'number');
    expect(evals.map((l) => l.step)).toEqual([2, 4]);
    for (const l of evals) {
      expect(l.test_bits_per_byte).toBeCloseTo(((l.test_loss as number) * (l.test_tokens as number)) / Math.LN2 / (l.test_bytes as number), 6);
      expect(l.test_perplexity).toBeCloseTo(Math.exp(l.test_loss as number), 6);
    }
    const samples = lines.filter((l) => typeof l.sample === 'number');
    expect(samples.map((l) => [l.step, l.sample])).toEqual([
      [2, 0],
      [2, 1],
      [4, 0],
      [4, 1],
    ]);
    const report = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(report).toContain('data-chart="validation-bits-per-byte"');
    expect(report).toContain(String(samples[0]?.prompt).split('\n')[0]);
  });
});
