import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-bad-'));
const runDir = join(work, 'run-should-not-exist');
const good = {
  name: 'ok',
  backend: 'cpu',
  model: { type: 'mlp', hidden: [8], layer: 'bitlinear' },
  data: { type: 'mnist', trainSize: 64, testSize: 16 },
  train: { steps: 2, batchSize: 16 },
  output: { dir: runDir },
};

type Json = Record<string, unknown>;
const withPatch = (patch: (r: Json) => void): Json => {
  const r = structuredClone(good) as Json;
  patch(r);
  return r;
};

const CASES: [string, Json | string, string[]][] = [
  ['an unknown top-level key', withPatch((r) => (r.epochz = 3)), ['epochz: unknown key']],
  ['an unknown nested key', withPatch((r) => ((r.train as Json).bogus = 1)), ['train.bogus: unknown key']],
  ['a wrong type', withPatch((r) => ((r.train as Json).lr = 'fast')), ['train.lr']],
  ['a negative learning rate', withPatch((r) => ((r.train as Json).lr = -1)), ['train.lr']],
  ['a zero batch size', withPatch((r) => ((r.train as Json).batchSize = 0)), ['train.batchSize']],
  ['a zero-width hidden layer', withPatch((r) => ((r.model as Json).hidden = [0])), ['model.hidden[0]']],
  ['an unknown model type', withPatch((r) => ((r.model as Json).type = 'cnn')), ['model.type']],
  ['too many training digits', withPatch((r) => ((r.data as Json).trainSize = 20000)), ['data.trainSize']],
  ['train + test beyond the data set', withPatch((r) => Object.assign(r.data as Json, { trainSize: 9000, testSize: 2000 })), ['data.testSize']],
  ['a missing name', withPatch((r) => delete r.name), ['name']],
  ['a missing output section', withPatch((r) => delete r.output), ['output']],
  ['an unknown adapter type', withPatch((r) => (r.adapters = [{ type: 'ia3', targetModules: ['fc1'] }])), ['adapters[0].type']],
  ['a LoRA rank of zero', withPatch((r) => (r.adapters = [{ type: 'lora', targetModules: ['fc1'], r: 0 }])), ['adapters[0].r']],
  ['a warm-up without steps', withPatch((r) => (r.quantWarmup = { type: 'linear' })), ['quantWarmup.steps']],
  ['both epochs and steps', withPatch((r) => ((r.train as Json).epochs = 2)), ['train.steps']],
  ['an unknown backend', withPatch((r) => (r.backend = 'tpu')), ['backend']],
  ['an unknown schedule', withPatch((r) => ((r.train as Json).schedule = { type: 'step' })), ['train.schedule.type']],
  ['a missing pretrained model', withPatch((r) => (r.model = { type: 'tfjs', path: join(work, 'no-model') })), ['model.path']],
  ['a missing text file', withPatch((r) => (r.data = { type: 'text', path: join(work, 'no.txt') })), ['data.path']],
  [
    'a target that matches nothing',
    withPatch((r) => (r.adapters = [{ type: 'lora', targetModules: ['q_proj'] }])),
    ['adapters[0].targetModules', 'Layer paths: fc1, relu1, head'],
  ],
  [
    'several problems at once',
    withPatch((r) => Object.assign(r.train as Json, { lr: 0, batchSize: -3, gradClip: 'x' })),
    ['train.lr', 'train.batchSize', 'train.gradClip'],
  ],
  ['invalid JSON', '{"name": "x",', ['not valid JSON']],
  ['an extends that does not exist', withPatch((r) => (r.extends = './nope.json')), ['nope.json']],
];

describe('bad recipes: exit 2, every problem with its JSON path, no run folder', () => {
  it.each(CASES)('%s', async (_name, recipe, expected) => {
    const dir = mkdtempSync(join(work, 'case-'));
    const file = join(dir, 'recipe.json');
    writeFileSync(file, typeof recipe === 'string' ? recipe : JSON.stringify(recipe));
    for (const command of [
      ['validate', file],
      ['run', file],
    ]) {
      const io = captureIo();
      expect(await runCli(command, io)).toBe(2);
      const stderr = io.stderr.join('\n');
      for (const text of expected) expect(stderr).toContain(text);
      expect(stderr).toMatch(/^bitnet: \[(INVALID_CONFIG|FILE_NOT_FOUND)\]/);
    }
    expect(existsSync(runDir)).toBe(false);
  });

  it('refuses to overwrite an existing run without --resume or --overwrite', async () => {
    const dir = mkdtempSync(join(work, 'exists-'));
    mkdirSync(join(dir, 'run'));
    writeFileSync(join(dir, 'run', 'recipe.json'), '{}');
    const file = join(dir, 'recipe.json');
    writeFileSync(file, JSON.stringify({ ...good, output: { dir: join(dir, 'run') } }));
    const io = captureIo();
    expect(await runCli(['run', file], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('--resume');
  });
});
