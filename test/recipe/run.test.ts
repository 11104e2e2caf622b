import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { loadModel } from '../../src/formats/tfjs-fs.js';
import { listCheckpoints } from '../../src/recipe/checkpoint.js';
import { readMetrics } from '../../src/recipe/metrics.js';
import type { RunSummary } from '../../src/recipe/run.js';
import { mnistSplit } from '../../src/data/mnist.js';
import { tf } from '../helpers/tf.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const TINY = fileURLToPath(new URL('../fixtures/tiny-recipe.json', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'bitnet-run-'));

async function weightsOf(runDir: string): Promise<Map<string, Float32Array>> {
  const last = (await listCheckpoints(runDir)).at(-1);
  if (last === undefined) throw new Error(`no checkpoint in ${runDir}`);
  const file = await readSafetensors(join(last.dir, 'model.safetensors'));
  return new Map(file.names.map((n) => [n, file.float32(n)]));
}

/** Spawns the CLI; resolves with its exit code and signal once it ends. */
function spawnCli(
  args: string[],
  onStart: (child: ReturnType<typeof spawn>) => void = () => {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout }));
    onStart(child);
  });
}

/** Kills the child with `signal` once metrics.jsonl reports step >= atStep. */
function killAt(runDir: string, atStep: number, signal: NodeJS.Signals) {
  return (child: ReturnType<typeof spawn>): void => {
    const timer = setInterval(() => {
      const lines = readMetrics(join(runDir, 'metrics.jsonl'));
      if ((lines.at(-1)?.step ?? 0) >= atStep) {
        clearInterval(timer);
        child.kill(signal);
      }
    }, 5);
    child.on('exit', () => clearInterval(timer));
  };
}

describe('bitnet run', () => {
  it('trains in-process: metrics.jsonl, checkpoints (keep 2), final model, report, summary', async () => {
    const dir = join(work, 'inproc');
    const io = captureIo();
    const tensorsBefore = tf.memory().numTensors;
    expect(await runCli(['run', TINY, '--set', `output.dir=${dir}`], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/completed tiny: 24\/24 steps on cpu/);
    const lines = readMetrics(join(dir, 'metrics.jsonl'));
    const train = lines.filter((l) => 'loss' in l);
    expect(train.map((l) => l.step)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
    expect(train[0]).toMatchObject({ lambda: 0.1 });
    expect(train.at(-1)).toMatchObject({ lambda: 1 });
    expect(lines.filter((l) => 'test_accuracy' in l).map((l) => l.step)).toEqual([8, 16, 24]);
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([20, 24]);
    for (const file of ['recipe.json', 'summary.json', 'report.html', 'final/model.json', 'final/weights.bin', 'final/model.safetensors']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const report = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(report).toMatch(/<svg[^>]*data-chart="train-loss" data-points="[1-9][\s\S]*Validation accuracy[\s\S]*accuracy \(%\)/);
    expect(report).toContain('deployed model size (bytes)');
    const model = await loadModel(join(dir, 'final'));
    expect(model.layers.map((l) => l.getClassName()).filter((c) => c !== 'InputLayer')).toEqual(['BitLinear', 'Activation', 'BitLinear']);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary).toMatchObject({ status: 'completed', steps: 24, totalSteps: 24, backend: 'cpu' });
    // the summary's accuracy is the final model's on the recipe's 64 test digits, counted here again
    const { test } = mnistSplit({ trainSize: 256, testSize: 64, seed: 3 });
    const predicted = tf.tidy(() => (model.predict(tf.tensor2d(test.images, [test.count, 784])) as tf.Tensor).argMax(-1).dataSync());
    const correct = Array.from(predicted).filter((p, i) => p === test.labels[i]).length;
    expect(summary.test_accuracy).toBe(correct / 64);
    // 24 steps on 256 digits learn little, but they learn: the training loss falls
    expect(train.at(-1)?.loss as number).toBeLessThan((train[0]?.loss as number) * 0.9);
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('--json prints a summary that parses (child process)', async () => {
    const dir = join(work, 'json');
    const { code, stdout } = await spawnCli(['run', TINY, '--set', `output.dir=${dir}`, '--set', 'train.steps=4', '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim()) as RunSummary;
    expect(summary).toMatchObject({ name: 'tiny', status: 'completed', steps: 4 });
  });

  // kill steps picked once at random, fixed so that a failure reproduces
  it.each([
    ['cpu', 61],
    ['wasm', 137],
  ] as const)('SIGKILL at a step between checkpoints, then --resume, equals an uninterrupted run (%s, step %i)', async (backend, killStep) => {
    const steps = 300;
    const common = ['--set', `train.steps=${steps}`, '--set', 'output.checkpointInterval=10', '--set', 'train.evalInterval=100', '--backend', backend];
    const whole = join(work, `whole-${backend}`);
    const cut = join(work, `cut-${backend}`);
    expect(await runCli(['run', TINY, ...common, '--set', `output.dir=${whole}`, '--json'], captureIo())).toBe(0);
    const killed = await spawnCli(['run', TINY, ...common, '--set', `output.dir=${cut}`], killAt(cut, killStep, 'SIGKILL'));
    expect(killed.signal).toBe('SIGKILL');
    const before = (await listCheckpoints(cut)).at(-1)?.step ?? 0;
    expect(before).toBeLessThan(steps);
    expect(await runCli(['run', TINY, ...common, '--set', `output.dir=${cut}`, '--resume', '--json'], captureIo())).toBe(0);
    const a = await weightsOf(whole);
    const b = await weightsOf(cut);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, values] of a) {
      const other = b.get(name) as Float32Array;
      if (backend === 'cpu') expect(other, name).toEqual(values);
      else values.forEach((v, i) => expect(Math.abs(v - (other[i] as number))).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
    }
    const resumedLines = readMetrics(join(cut, 'metrics.jsonl'))
      .filter((l) => 'loss' in l)
      .map((l) => l.step);
    expect(resumedLines).toEqual(
      readMetrics(join(whole, 'metrics.jsonl'))
        .filter((l) => 'loss' in l)
        .map((l) => l.step),
    );
  });

  it('SIGINT finishes the step, writes a checkpoint and exits 130; --resume completes', async () => {
    const dir = join(work, 'sigint');
    const args = ['run', TINY, '--set', 'train.steps=400', '--set', 'output.checkpointInterval=1000', '--set', `output.dir=${dir}`];
    const stopped = await spawnCli(args, killAt(dir, 20, 'SIGINT'));
    expect(stopped.code).toBe(130);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary).toMatchObject({ status: 'interrupted', signal: 'SIGINT' });
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([summary.steps]);
    expect(existsSync(join(dir, 'final'))).toBe(false);
    const io = captureIo();
    expect(await runCli([...args, '--resume', '--set', 'train.steps=400'], io)).toBe(0);
    expect(io.stdout.join('\n')).toContain(`resuming tiny from step ${summary.steps}`);
    expect(existsSync(join(dir, 'final', 'model.json'))).toBe(true);
  });

  it('ignores checkpoints that are not complete', async () => {
    const dir = join(work, 'inproc');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(dir, 'checkpoints', '.step-00000030.abcd.tmp'), { recursive: true });
    mkdirSync(join(dir, 'checkpoints', 'step-00000040'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', 'step-00000040', 'model.safetensors'), 'partial');
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([20, 24]);
    expect(readdirSync(join(dir, 'checkpoints')).length).toBe(4);
  });
});
