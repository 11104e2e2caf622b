// Issue #18: recipes that say what they mean. --resume refuses a recipe that differs from the run's
// recipe.json (beyond steps, epochs and intervals) and names the JSON paths; an unknown key names
// the file it came from; bad data files are errors naming file, line and field. Each is exit 2 and
// leaves no run folder created or changed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-resume-'));
const run = join(work, 'run');
const recipePath = join(work, 'recipe.json');
const recipe = {
  name: 'resume',
  backend: 'cpu',
  model: { type: 'mlp', hidden: [8], layer: 'bitlinear' },
  data: { type: 'mnist', trainSize: 32, testSize: 16 },
  train: { steps: 4, batchSize: 16, lr: 0.01, schedule: { type: 'cosine', minRatio: 0.2 } },
  output: { dir: run, checkpointInterval: 2 },
};

async function cli(argv: string[]): Promise<{ exit: number; stderr: string }> {
  const io = captureIo();
  const exit = await runCli(argv, io);
  return { exit, stderr: io.stderr.join('\n') };
}

/** Every file of a folder with its bytes and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[path] = `${statSync(path).mtimeMs}:${readFileSync(path).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  writeFileSync(recipePath, JSON.stringify(recipe));
  expect((await cli(['run', recipePath])).exit).toBe(0);
});

describe('--resume compares the recipe with the run', () => {
  it.each([
    [['train.lr=0.02'], 'train.lr'],
    [['train.schedule={"type":"constant"}'], 'train.schedule.minRatio, train.schedule.type'],
    [['model.hidden=[16]', 'train.seed=3'], 'model.hidden[0], train.seed'],
    [['train.steps=2'], 'past the recipe'],
  ])('--set %s: exit 2 naming %s, the run untouched', async (sets, named) => {
    const before = snapshot(run);
    const { exit, stderr } = await cli(['run', recipePath, '--resume', ...sets.flatMap((s) => ['--set', s])]);
    expect(exit, stderr).toBe(2);
    expect(stderr).toContain('[INVALID_CONFIG]');
    expect(stderr).toContain(named);
    expect(snapshot(run)).toEqual(before);
  });

  it('more steps and other intervals resume', async () => {
    const { exit, stderr } = await cli([
      'run',
      recipePath,
      '--resume',
      '--set',
      'train.steps=6',
      '--set',
      'output.checkpointInterval=3',
      '--set',
      'train.evalInterval=3',
    ]);
    expect(exit, stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))).toMatchObject({ steps: 6, resumedFrom: 4 });
  });
});

describe('extends and unknown keys', () => {
  it('an unknown key names the file that set it, and --set', async () => {
    const base = join(work, 'base.json');
    const child = join(work, 'child.json');
    writeFileSync(base, JSON.stringify({ ...recipe, train: { ...recipe.train, bogus: 1 } }));
    writeFileSync(child, JSON.stringify({ extends: 'base.json', name: 'child', output: { dir: join(work, 'child-run') } }));
    const { exit, stderr } = await cli(['run', child]);
    expect(exit, stderr).toBe(2);
    expect(stderr).toContain(`train.bogus: unknown key (set in ${base})`);
    const set = await cli(['run', recipePath, '--set', 'train.optimizer.betaz=1', '--overwrite']);
    expect(set.exit).toBe(2);
    expect(set.stderr).toContain('train.optimizer.betaz: unknown key (set in --set train.optimizer.betaz=1)');
    expect(existsSync(join(work, 'child-run'))).toBe(false);
  });

  it('a schedule of another type replaces the base one', async () => {
    const child = join(work, 'constant.json');
    writeFileSync(child, JSON.stringify({ extends: 'recipe.json', train: { schedule: { type: 'constant' } }, output: { dir: join(work, 'constant-run') } }));
    const { exit, stderr } = await cli(['validate', child]);
    expect(exit, stderr).toBe(0);
  });
});

describe('bad data files', () => {
  it.each([
    ['a line that is not JSON', '{"text": "fine"}\n{"text": \n', 'line 2', 'not valid JSON'],
    ['a record without the field', '{"text": "fine"}\n{"body": "no text"}\n', 'line 2: text', 'missing'],
    ['a field of the wrong type', '{"text": "fine"}\n\n{"text": 42}\n', 'line 3: text', 'must be a string'],
  ])('%s: exit 2 naming file, line and field; no run folder', async (_name, content, where, what) => {
    const data = join(work, `bad-${where.replace(/\W/g, '')}.jsonl`);
    writeFileSync(data, content);
    const dir = join(work, `bad-run-${where.replace(/\W/g, '')}`);
    const lm = {
      name: 'bad-data',
      backend: 'cpu',
      model: { type: 'bitnet-lm', hiddenSize: 256, intermediateSize: 256, numLayers: 1, numHeads: 2, numKvHeads: 2 },
      data: { type: 'jsonl', path: data, format: 'text', contextLength: 16 },
      train: { steps: 1, batchSize: 2 },
      output: { dir },
    };
    const path = join(work, `bad-${where.replace(/\W/g, '')}.recipe.json`);
    writeFileSync(path, JSON.stringify(lm));
    const { exit, stderr } = await cli(['run', path]);
    expect(exit, stderr).toBe(2);
    expect(stderr).toContain('[INVALID_DATA]');
    expect(stderr).toContain(`${data} ${where}`);
    expect(stderr).toContain(what);
    expect(existsSync(dir)).toBe(false);
  });
});
