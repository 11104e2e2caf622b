// Issue #15, finding 4: kill -9 inside each write window of a run (an environment hook pauses the
// process exactly there), then check the folder: nothing complete is lost, nothing partial is
// read as complete, and the next `--resume` repairs the folder and finishes the run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints, readCheckpoint } from '../../src/recipe/checkpoint.js';
import { readMetrics } from '../../src/recipe/metrics.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'bitnet-crash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 12 steps, a checkpoint every 4 (keeping 2), metrics every 2, an evaluation at the end. */
function recipeFor(out: string): string {
  const file = join(work, `${out.split('/').at(-1) as string}.json`);
  const recipe = {
    name: 'crash',
    backend: 'cpu',
    model: { type: 'mlp', hidden: [8], layer: 'bitlinear' },
    data: { type: 'mnist', trainSize: 64, testSize: 16, seed: 3 },
    train: { steps: 12, batchSize: 16, logInterval: 2, evalInterval: 12, seed: 1 },
    output: { dir: out, checkpointInterval: 4, keepLast: 2, export: ['tfjs'] },
  };
  writeFileSync(file, JSON.stringify(recipe));
  return file;
}

/** Runs the CLI until it pauses at `window` (then kill -9), or to its end when no window is given. */
function runUntil(args: string[], window?: string): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...(window === undefined ? {} : { BITNET_PAUSE_AT: window }) };
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!killed && stderr.includes('paused at')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code) => resolve({ killed, code, stderr }));
  });
}

const temporaries = (dir: string): string[] =>
  [dir, join(dir, 'checkpoints')].filter(existsSync).flatMap((d) => readdirSync(d).filter((n) => /\.(tmp|old|del)$/.test(n)));

/** What must hold in a run folder at any moment: every listed checkpoint is whole, metrics parse, recipe.json parses. */
async function checkConsistent(dir: string): Promise<void> {
  for (const c of await listCheckpoints(dir)) {
    const ckpt = await readCheckpoint(c.dir);
    expect(ckpt.state.step).toBe(c.step);
    expect(ckpt.weights.names.length).toBeGreaterThan(0);
  }
  JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8'));
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  for (const l of lines) JSON.parse(l);
}

/** After the repairing resume: completed, every step logged once in order, no temporaries. */
async function checkFinished(dir: string): Promise<void> {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { status: string; steps: number };
  expect(summary.status).toBe('completed');
  const steps = readMetrics(join(dir, 'metrics.jsonl'))
    .filter((l) => 'loss' in l)
    .map((l) => l.step);
  expect(steps).toEqual([2, 4, 6, 8, 10, 12]);
  expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([8, 12]);
  expect(JSON.parse(readFileSync(join(dir, 'final', 'model.json'), 'utf8'))).toHaveProperty('weightsManifest');
  expect(temporaries(dir)).toEqual([]);
}

async function killAndResume(
  name: string,
  window: string,
  before: (dir: string, recipe: string) => Promise<void>,
  after: (dir: string) => void,
): Promise<void> {
  const dir = join(work, name);
  const recipe = recipeFor(dir);
  await before(dir, recipe);
  const killed = await runUntil(['run', recipe, ...(existsSync(dir) ? ['--resume'] : [])], window);
  expect(killed.killed, `never paused at ${window}: ${killed.stderr}`).toBe(true);
  await checkConsistent(dir);
  after(dir);
  const resumed = await runUntil(['run', recipe, '--resume']);
  expect(resumed.code, resumed.stderr).toBe(0);
  await checkFinished(dir);
}

const none = (): Promise<void> => Promise.resolve();
const complete = async (_dir: string, recipe: string): Promise<void> => {
  expect((await runUntil(['run', recipe])).code).toBe(0);
};

describe('kill -9 inside each write window of a run', () => {
  it('a checkpoint written but not yet renamed into place: the temporary is ignored, then removed', async () => {
    await killAndResume('written', 'checkpoint:written@2', none, (dir) => {
      expect(readdirSync(join(dir, 'checkpoints')).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    });
  });

  it('an old checkpoint being pruned: it is out of the list at once, and removed on resume', async () => {
    await killAndResume('prune', 'checkpoint:prune@1', none, (dir) => {
      expect(readdirSync(join(dir, 'checkpoints')).filter((n) => n.endsWith('.del'))).toHaveLength(1);
    });
  });

  it('summary.json written but not renamed: the run is not reported complete until the resume', async () => {
    await killAndResume('summary', 'write:summary.json', none, (dir) => {
      expect(existsSync(join(dir, 'summary.json'))).toBe(false);
    });
  });

  it('final/ moved aside, the new one not yet in place: the old model is kept and put back', async () => {
    await killAndResume('final', 'replace:final', complete, (dir) => {
      expect(existsSync(join(dir, 'final'))).toBe(false);
      const aside = readdirSync(dir).filter((n) => /^\.final\..*\.old$/.test(n));
      expect(aside).toHaveLength(1);
      expect(existsSync(join(dir, aside[0] as string, 'weights.bin'))).toBe(true);
    });
  });

  it('metrics.jsonl cut back on resume but not yet renamed: the old log is whole', async () => {
    await killAndResume(
      'metrics',
      'write:metrics.jsonl',
      async (dir, recipe) => {
        await complete(dir, recipe);
        rmSync(join(dir, 'checkpoints', 'step-00000012'), { recursive: true });
      },
      (dir) => {
        expect(readMetrics(join(dir, 'metrics.jsonl')).filter((l) => 'loss' in l)).toHaveLength(6);
      },
    );
  });

  it('a checkpoint replacing one of the same step, killed between the renames: the old one comes back on resume', () => {
    const dir = join(work, 'aside');
    const script = `
      import * as tf from '@tensorflow/tfjs';
      import { writeCheckpoint } from './dist/src/recipe/checkpoint.js';
      await tf.setBackend('cpu');
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
      const state = (n) => ({ step: 4, epoch: 0, optimizerStep: n, dataSeed: 1, trainSeed: 1, recipe: 'x', time: 't' });
      await writeCheckpoint(${JSON.stringify(dir)}, model, {}, state(1), 2);
      process.env.BITNET_PAUSE_AT = 'checkpoint:aside';
      await writeCheckpoint(${JSON.stringify(dir)}, model, {}, state(2), 2);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 5_000, killSignal: 'SIGKILL' });
    expect(r.stderr).toContain('paused at checkpoint:aside');
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'checkpoints', 'step-00000004'))).toBe(false);
    return import('../../src/recipe/run-folder.js').then(async ({ removeStaleTemporaries }) => {
      removeStaleTemporaries(dir);
      const [restored] = await listCheckpoints(dir);
      expect((await readCheckpoint((restored as { dir: string }).dir)).state.optimizerStep).toBe(1);
      expect(temporaries(dir)).toEqual([]);
    });
  });
});
