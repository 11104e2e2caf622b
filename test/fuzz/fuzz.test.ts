// Issue #15: the bounded fuzz suite (fixed seeds). Every mutated GGUF, safetensors, adapter folder,
// model.json folder, recipe and HF folder gets an answer or a typed user error, never an internal
// error, a dead process or a hang, and leaks no tensor; files that declare far more than they hold
// cost memory in proportion to their size. `npm run fuzz` runs the same targets much longer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAmplification } from '../../fuzz/amplify.js';
import { runFuzz } from '../../fuzz/run.js';
import { TARGETS } from '../../fuzz/targets.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-fuzz-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The bound the README states: peak memory beyond a valid file's is at most MAX_RATIO x the file's size + SLACK_MB (a process's own noise). */
const MAX_RATIO = 20;
const SLACK_MB = 64;
const CASES = 50;

describe('fuzz suite', () => {
  it(`${CASES} mutated inputs per target: a result or a typed error; no crash, hang or leaked tensor`, async () => {
    const { summaries, findings } = await runFuzz({ targets: TARGETS.map((t) => t.name), cases: CASES, seed: 1, caseTimeoutMs: 30_000, workDir: work });
    expect(findings).toEqual([]);
    expect(summaries.map((s) => s.target)).toEqual(TARGETS.map((t) => t.name));
    for (const s of summaries) {
      expect(s.cases, s.target).toBe(CASES);
      expect(s.ok + s.typed, s.target).toBe(CASES);
      expect(s.tensorGrowth, s.target).toBe(0);
      // the mutations reach past the first check: some inputs still load, most are refused
      expect(s.typed, s.target).toBeGreaterThan(CASES / 4);
    }
  });

  it(`hostile files that declare much cost at most ${MAX_RATIO}x their size (+${SLACK_MB} MB) in memory, and are refused before allocating`, async () => {
    const reports = await runAmplification(work, work, 120_000);
    for (const r of reports) {
      expect(r.outcome, r.name).toMatch(/^(ok|typed [A-Z_]+)$/);
      expect(r.growthMb, r.name).toBeLessThanOrEqual(MAX_RATIO * r.inputMb + SLACK_MB);
    }
    const refused = (name: string): string | undefined => reports.find((r) => r.name.startsWith(name))?.outcome;
    expect(refused('safetensors: 900,000')).toBe('typed CORRUPT_FILE');
    expect(refused('adapter: r = 4,000,000')).toBe('typed INVALID_CONFIG');
    expect(refused('model.json: a layer of 100 M')).toBe('typed CORRUPT_FILE');
    expect(refused('HF folder: vocab_size 1e9')).toBe('typed CORRUPT_FILE');
  });
});
