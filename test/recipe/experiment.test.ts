import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { experimentRuns, loadExperiment } from '../../src/recipe/experiment.js';

const GROUPSIZE = fileURLToPath(new URL('../../recipes/experiments/mnist-groupsize.json', import.meta.url));

describe('bitnet experiment', () => {
  it('the shipped group-size sweep has per-tensor and 32..256 variants', () => {
    const { experiment } = loadExperiment(GROUPSIZE);
    expect(experimentRuns(experiment).map((r) => r.name)).toEqual(['tensor', 'g32', 'g64', 'g128', 'g256']);
  });

  it('a grid expands to every combination', () => {
    const runs = experimentRuns({
      name: 'g',
      base: 'x',
      output: { dir: 'y' },
      set: {},
      grid: { 'train.lr': [0.1, 0.2], 'model.bitnet.groupSize': ['tensor', 64] },
    });
    expect(runs.map((r) => r.name)).toEqual(['lr-0.1_groupSize-tensor', 'lr-0.1_groupSize-64', 'lr-0.2_groupSize-tensor', 'lr-0.2_groupSize-64']);
    expect(runs[1]?.overrides).toEqual(['train.lr=0.1', 'model.bitnet.groupSize=64']);
  });

  it('runs the group-size sweep (small settings) and writes the comparison table and plots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitnet-exp-'));
    const sweep = join(dir, 'sweep.json');
    const spec = JSON.parse(readFileSync(GROUPSIZE, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      sweep,
      JSON.stringify({
        ...spec,
        set: {},
        base: join(fileURLToPath(new URL('../../recipes', import.meta.url)), 'mnist-mlp-bitnet.json'),
        output: { dir: join(dir, 'out') },
      }),
    );
    const small = [
      '--set',
      'train.epochs=null',
      '--set',
      'train.steps=6',
      '--set',
      'data.trainSize=256',
      '--set',
      'data.testSize=64',
      '--set',
      'model.hidden=[256]',
      '--set',
      'train.evalInterval=3',
      '--backend',
      'cpu',
    ];
    const io = captureIo();
    expect(await runCli(['experiment', sweep, ...small, '--json'], io), io.stderr.join('\n')).toBe(0);
    const result = JSON.parse(io.stdout.at(-1) as string) as { runs: { name: string; status: string; modelBytes: number }[] };
    expect(result.runs.map((r) => r.status)).toEqual(new Array(5).fill('completed'));
    const bytes = result.runs.map((r) => r.modelBytes);
    expect(bytes[0]).toBeLessThan(bytes[1] as number); // per-group scales cost bytes
    expect(bytes[1]).toBeGreaterThan(bytes[4] as number);
    const table = readFileSync(join(dir, 'out', 'comparison.md'), 'utf8');
    for (const [name, setting] of [
      ['tensor', 'model.bitnet.groupSize=tensor'],
      ['g32', 'model.bitnet.groupSize=32'],
      ['g256', 'model.bitnet.groupSize=256'],
    ])
      expect(table).toContain(`| ${name} | ${setting} | completed |`);
    expect(table).toContain('validation loss (nats)');
    expect(table).toContain(
      '| run | settings | status | steps | validation accuracy (%) | validation loss (nats) | deployed size (bytes) | training time (s) |',
    );
    const report = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(report.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    for (const name of ['g32', 'g256']) expect(report).toContain(`>${name}</text>`);
    expect((JSON.parse(readFileSync(join(dir, 'out', 'comparison.json'), 'utf8')) as { runs: unknown[] }).runs).toHaveLength(5);
    // a second call reuses the finished runs
    const again = captureIo();
    expect(await runCli(['experiment', sweep, ...small], again)).toBe(0);
    expect(again.stdout.filter((l) => l.includes('finished earlier'))).toHaveLength(5);
    expect(existsSync(join(dir, 'out', 'g64', 'final', 'model.json'))).toBe(true);
  });
});
