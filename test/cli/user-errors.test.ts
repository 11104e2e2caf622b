// Issue #15, finding 7: damaged files in run, checkpoint, adapter, model and HF folders, and recipes
// that are absurd, are user errors: exit 2 with a typed code naming the file or field, never an
// internal error (exit 1) with a stack trace.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { loadPeftModel } from '../../src/adapter/peft.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { denseMlp } from '../adapter/models.js';
import { expectBitNetErrorAsync } from '../helpers/errors.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-user-errors-'));
const run = join(work, 'run');
const adapter = join(work, 'adapter');
const hf = join(work, 'hf');
const recipe = join(work, 'recipe.json');

beforeAll(async () => {
  const json = {
    name: 'errors',
    backend: 'cpu',
    model: { type: 'mlp', hidden: [8], layer: 'bitlinear' },
    data: { type: 'mnist', trainSize: 32, testSize: 16 },
    train: { steps: 4, batchSize: 16 },
    output: { dir: run, checkpointInterval: 2, export: ['tfjs'] },
  };
  writeFileSync(recipe, JSON.stringify(json));
  const io = captureIo();
  expect(await runCli(['run', recipe], io)).toBe(0);
  const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1'], r: 2 }, { warn: () => {} });
  await peft.save(adapter);
  peft.dispose();
  mkdirSync(hf);
  for (const f of ['config.json', 'model.safetensors']) cpSync(join('test/golden/hf-llama-tiny', f), join(hf, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join('test/golden/tokenizer-bytelevel', f), join(hf, f));
});

/** A copy of a pristine folder with one file damaged. */
function damaged(source: string, file: string, content: string | ((text: string) => string)): string {
  const dir = mkdtempSync(join(work, 'case-'));
  rmSync(dir, { recursive: true });
  cpSync(source, dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, typeof content === 'string' ? content : content(readFileSync(path, 'utf8')));
  return dir;
}

async function expectUserError(argv: string[], code: string, mention: string): Promise<void> {
  const io = captureIo();
  const exit = await runCli(argv, io);
  const stderr = io.stderr.join('\n');
  expect(exit, stderr).toBe(2);
  expect(stderr).toContain(`[${code}]`);
  expect(stderr).toContain(mention);
  expect(stderr).not.toContain('internal error');
}

const CUT = (text: string): string => text.slice(0, Math.floor(text.length / 2));

describe('damaged folders are user errors (exit 2)', () => {
  it.each([
    ['run: recipe.json cut short, inspected', () => damaged(run, 'recipe.json', CUT), 'inspect', 'CORRUPT_FILE', 'recipe.json'],
    ['run: recipe.json cut short, generated from', () => damaged(run, 'recipe.json', CUT), 'generate', 'CORRUPT_FILE', 'recipe.json'],
    ['run: summary.json cut short', () => damaged(run, 'summary.json', CUT), 'inspect', 'CORRUPT_FILE', 'summary.json'],
    [
      'checkpoint: state.json cut short',
      () => join(damaged(run, 'checkpoints/step-00000004/state.json', CUT), 'checkpoints/step-00000004'),
      'inspect',
      'CORRUPT_FILE',
      'state.json',
    ],
    ['run: final/model.json cut short', () => damaged(run, 'final/model.json', CUT), 'generate', 'CORRUPT_FILE', 'model.json'],
    [
      'model: an unknown layer class',
      () => damaged(run, 'final/model.json', (t) => t.replace('"BitLinear"', '"NoSuchLayer"')),
      'generate',
      'CORRUPT_FILE',
      'NoSuchLayer',
    ],
    [
      'model: weights.bin missing',
      () =>
        join(
          damaged(run, 'final/model.json', (t) => t.replace('weights.bin', 'gone.bin')),
          '',
        ),
      'generate',
      'FILE_NOT_FOUND',
      'gone.bin',
    ],
    ['adapter: adapter_config.json cut short', () => damaged(adapter, 'adapter_config.json', CUT), 'inspect', 'CORRUPT_FILE', 'adapter_config.json'],
    ['HF: config.json cut short', () => damaged(hf, 'config.json', CUT), 'generate', 'CORRUPT_FILE', 'config.json'],
    ['HF: tokenizer.json cut short', () => damaged(hf, 'tokenizer.json', CUT), 'generate', 'CORRUPT_FILE', 'tokenizer.json'],
    [
      'HF: a chat template that is not Jinja',
      () => damaged(hf, 'tokenizer_config.json', (t) => JSON.stringify({ ...JSON.parse(t), chat_template: '{% if %}\u00ff' })),
      'generate',
      'CORRUPT_FILE',
      'chat_template',
    ],
  ])('%s', async (_name, make, command, code, mention) => {
    const dir = make();
    await expectUserError(command === 'inspect' ? ['inspect', dir] : ['generate', dir, '--max-tokens', '2'], code, mention);
  });

  it('a weights file that is a folder', async () => {
    const dir = damaged(run, 'final/model.json', (t) => t);
    rmSync(join(dir, 'final', 'weights.bin'));
    mkdirSync(join(dir, 'final', 'weights.bin'));
    await expectUserError(['generate', dir, '--max-tokens', '2'], 'CORRUPT_FILE', 'not a regular file');
  });

  it('an adapter folder whose config is cut short, loaded through the API', async () => {
    await expectBitNetErrorAsync(() => loadPeftModel(denseMlp(), damaged(adapter, 'adapter_config.json', CUT)), 'CORRUPT_FILE');
  });

  it('--resume over a checkpoint whose state.json is cut short', async () => {
    const dir = damaged(run, 'checkpoints/step-00000004/state.json', CUT);
    const json = JSON.parse(readFileSync(recipe, 'utf8')) as { output: { dir: string } };
    const file = join(dir, 'resume-recipe.json');
    writeFileSync(file, JSON.stringify({ ...json, output: { ...json.output, dir } }));
    await expectUserError(['run', file, '--resume'], 'CORRUPT_FILE', 'state.json');
  });
});

describe('absurd recipes and arguments are user errors (exit 2)', () => {
  const base = JSON.parse(readFileSync('test/fixtures/tiny-recipe.json', 'utf8')) as Record<string, unknown>;
  const write = (name: string, json: unknown): string => {
    const file = join(work, name);
    writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
    return file;
  };

  it('a recipe nested 100,000 levels deep', async () => {
    await expectUserError(['validate', write('deep.json', `{"name":"d","x":${'['.repeat(100_000)}1${']'.repeat(100_000)}}`)], 'INVALID_CONFIG', 'deeper than');
  });

  it('a --set value nested 5,000 levels deep', async () => {
    await expectUserError(
      ['validate', 'test/fixtures/tiny-recipe.json', '--set', `train.lr=${'['.repeat(5000)}1${']'.repeat(5000)}`],
      'INVALID_ARGUMENT',
      'deeper than',
    );
  });

  it('a LoRA rank of 1e9', async () => {
    const file = write('lora.json', { ...base, adapters: [{ type: 'lora', targetModules: ['fc1'], r: 1e9 }] });
    await expectUserError(['validate', file], 'INVALID_CONFIG', 'r=1000000000');
  });

  it('a model too large to allocate', async () => {
    const file = write('huge.json', { ...base, model: { type: 'mlp', hidden: [2 ** 31], layer: 'bitlinear' } });
    await expectUserError(['validate', file], 'INVALID_CONFIG', 'too large to allocate');
  });

  it('generate on a folder named like a GGUF', async () => {
    const dir = join(work, 'looks.gguf');
    mkdirSync(dir, { recursive: true });
    await expectUserError(['generate', dir, '--max-tokens', '2'], 'INVALID_ARGUMENT', 'not a regular file');
  });
});
