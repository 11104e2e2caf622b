import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { getPeftModel, loadPeftModel } from '../src/adapter/peft.js';
import { runCli } from '../src/cli/app.js';
import { captureIo } from '../src/cli/io.js';
import { BitNetError } from '../src/errors.js';
import { byteVocabulary, writeBitnetGguf } from '../src/formats/gguf/bitnet-write.js';
import { writeLlamaGguf } from '../src/formats/gguf/llama-gguf.js';
import { readGgufHeader } from '../src/formats/gguf/reader.js';
import { readSafetensors } from '../src/formats/safetensors/reader.js';
import { saveModel } from '../src/formats/tfjs-fs.js';
import type { BitnetLmConfig } from '../src/models/bitnet/config.js';
import { buildBitnetLm } from '../src/models/bitnet/tfjs.js';
import { randomBitnetWeights } from '../src/models/bitnet/weights.js';
import type { SeededRandom } from '../src/util/random.js';
import { mutateBytes, mutateJson } from './mutate.js';

/** The repository root (this file is dist/fuzz/targets.js or fuzz/targets.ts). */
const ROOT = [join(dirname(fileURLToPath(import.meta.url)), '..'), join(dirname(fileURLToPath(import.meta.url)), '..', '..')].find((d) =>
  existsSync(join(d, 'package.json')),
) as string;

/** What a case did: finished, refused with a typed user error, or failed any other way (a finding). */
export type Outcome = { kind: 'ok' } | { kind: 'typed'; code: string } | { kind: 'crash'; message: string };

export interface FuzzTarget {
  name: string;
  /** Writes the seed corpus into `dir` (once per fuzz run). */
  prepare(dir: string): Promise<void>;
  /** Writes one mutated case into `caseDir` and returns how to run it and its input's size. */
  make(rng: SeededRandom, corpus: string, caseDir: string): { bytes: number; run: () => Promise<Outcome> };
}

/** A CLI command as the user runs it: exit 0 or 2 are answers, exit 1 (an internal error) is a finding. */
async function cli(argv: string[]): Promise<Outcome> {
  const io = captureIo();
  const code = await runCli(argv, io);
  if (code === 0) return { kind: 'ok' };
  const text = io.stderr.join('\n');
  if (code === 2) return { kind: 'typed', code: /\[([A-Z_]+)\]/.exec(text)?.[1] ?? 'INVALID_ARGUMENT' };
  return { kind: 'crash', message: text.slice(0, 2000) };
}

/** Runs commands in turn and keeps the first that is not ok. */
async function all(...steps: (() => Promise<Outcome>)[]): Promise<Outcome> {
  for (const step of steps) {
    const o = await step();
    if (o.kind !== 'ok') return o;
  }
  return { kind: 'ok' };
}

/** A library call: a BitNetError with a user code is an answer; anything else is a finding. */
async function api(call: () => Promise<void>): Promise<Outcome> {
  try {
    await call();
    return { kind: 'ok' };
  } catch (e) {
    if (e instanceof BitNetError && e.isUserError) return { kind: 'typed', code: e.code };
    return { kind: 'crash', message: e instanceof Error ? (e.stack ?? e.message).slice(0, 2000) : String(e) };
  }
}

const pick = <T>(rng: SeededRandom, items: readonly T[]): T => items[rng.int(items.length)] as T;

/** Copies a seed folder into caseDir and mutates one of its files (JSON-aware for .json). */
function mutateFolder(rng: SeededRandom, seed: string, caseDir: string, files: readonly { name: string; hot: number }[]): number {
  cpSync(seed, caseDir, { recursive: true });
  const f = pick(rng, files);
  const path = join(caseDir, f.name);
  const before = readFileSync(path);
  const after = f.name.endsWith('.json') ? Buffer.from(mutateJson(rng, before.toString('utf8'))) : mutateBytes(rng, before, f.hot);
  writeFileSync(path, after);
  return after.length;
}

function safetensorsHot(path: string): number {
  return 8 + Number(readFileSync(path).readBigUInt64LE(0));
}

/** A decoder small enough to load in milliseconds, with TQ-compatible widths. */
const LM: BitnetLmConfig = {
  vocabSize: 300,
  hiddenSize: 256,
  intermediateSize: 512,
  numLayers: 1,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 32,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
};
const VOCAB = byteVocabulary(Array.from({ length: 41 }, (_, i) => `<t${i}>`));

const gguf: FuzzTarget = {
  name: 'gguf',
  async prepare(dir) {
    const w = randomBitnetWeights(LM, 5);
    await writeBitnetGguf(join(dir, 'bitnet-tq2.gguf'), w, VOCAB, { type: 'tq2_0' });
    await writeBitnetGguf(join(dir, 'bitnet-tq1.gguf'), w, VOCAB, { type: 'tq1_0' });
    const plain = randomBitnetWeights({ ...LM, subLn: false }, 6);
    for (const l of plain.layers) {
      delete l.attnSubNorm;
      delete l.ffnSubNorm;
    }
    await writeLlamaGguf(join(dir, 'llama.gguf'), plain, 'llama', VOCAB, { type: 'tq2_0' });
    cpSync(join(ROOT, 'test/golden/reference.gguf'), join(dir, 'reference.gguf'));
    cpSync(join(ROOT, 'test/golden/tokenizer-bytelevel'), join(dir, 'tokenizer'), { recursive: true });
    const hot: Record<string, number> = {};
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.gguf'))) hot[f] = (await readGgufHeader(join(dir, f))).dataOffset;
    writeFileSync(join(dir, 'hot.json'), JSON.stringify(hot));
  },
  make(rng, corpus, caseDir) {
    const hot = JSON.parse(readFileSync(join(corpus, 'hot.json'), 'utf8')) as Record<string, number>;
    const seed = pick(rng, Object.keys(hot));
    const bytes = mutateBytes(rng, readFileSync(join(corpus, seed)), hot[seed] as number);
    const path = join(caseDir, seed);
    writeFileSync(path, bytes);
    const generate = ['generate', path, '--prompt', 'ab', '--max-tokens', '3', ...(seed === 'llama.gguf' ? ['--tokenizer', join(corpus, 'tokenizer')] : [])];
    return {
      bytes: bytes.length,
      run: () =>
        all(
          () => cli(['inspect', path, '--stats']),
          () => cli(generate),
        ),
    };
  },
};

const safetensors: FuzzTarget = {
  name: 'safetensors',
  // eslint-disable-next-line @typescript-eslint/require-await
  async prepare(dir) {
    cpSync(join(ROOT, 'test/golden/reference.safetensors'), join(dir, 'reference.safetensors'));
    cpSync(join(ROOT, 'test/golden/hf-llama-tiny/model.safetensors'), join(dir, 'llama.safetensors'));
  },
  make(rng, corpus, caseDir) {
    const seed = pick(rng, ['reference.safetensors', 'llama.safetensors']);
    const bytes = mutateBytes(rng, readFileSync(join(corpus, seed)), safetensorsHot(join(corpus, seed)));
    const path = join(caseDir, seed);
    writeFileSync(path, bytes);
    const readAll = async (): Promise<void> => {
      const file = await readSafetensors(path);
      for (const name of file.names) if (['F32', 'F16', 'BF16'].includes(file.tensor(name).dtype)) file.float32(name);
    };
    return {
      bytes: bytes.length,
      run: () =>
        all(
          () => cli(['inspect', path]),
          () => api(readAll),
        ),
    };
  },
};

/** fc1 Dense(16) -> fc2 Dense(8) -> head Dense(4) on 12 inputs: the base of the adapter cases. */
function baseMlp(): tf.Sequential {
  const model = tf.sequential({ name: 'mlp' });
  model.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [12], name: 'fc1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 8, name: 'fc2', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  model.add(tf.layers.dense({ units: 4, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  return model;
}

const adapter: FuzzTarget = {
  name: 'adapter',
  async prepare(dir) {
    const base = baseMlp();
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 4, loraAlpha: 8, modulesToSave: ['head'] }, { warn: () => {} });
    await peft.save(join(dir, 'lora'));
    peft.dispose();
    base.dispose();
  },
  make(rng, corpus, caseDir) {
    const seed = join(corpus, 'lora');
    const bytes = mutateFolder(rng, seed, caseDir, [
      { name: 'adapter_config.json', hot: 0 },
      { name: 'adapter_model.safetensors', hot: safetensorsHot(join(seed, 'adapter_model.safetensors')) },
    ]);
    const load = async (): Promise<void> => {
      const base = baseMlp();
      try {
        (await loadPeftModel(base, caseDir, { warn: () => {} })).dispose();
      } finally {
        base.dispose();
      }
    };
    return {
      bytes,
      run: () =>
        all(
          () => cli(['inspect', caseDir]),
          () => api(load),
        ),
    };
  },
};

const modelFolder: FuzzTarget = {
  name: 'model.json',
  async prepare(dir) {
    const model = buildBitnetLm({ ...LM, layer: 'bitlinear', seed: 2 });
    await saveModel(model, join(dir, 'lm'));
    model.dispose();
  },
  make(rng, corpus, caseDir) {
    const bytes = mutateFolder(rng, join(corpus, 'lm'), caseDir, [
      { name: 'model.json', hot: 0 },
      { name: 'model.json', hot: 0 },
      { name: 'weights.bin', hot: 1 << 30 },
    ]);
    return {
      bytes,
      run: () =>
        all(
          () => cli(['inspect', caseDir]),
          () => cli(['generate', caseDir, '--prompt', 'ab', '--max-tokens', '2']),
        ),
    };
  },
};

const recipe: FuzzTarget = {
  name: 'recipe',
  // eslint-disable-next-line @typescript-eslint/require-await
  async prepare(dir) {
    cpSync(join(ROOT, 'recipes'), join(dir, 'recipes'), { recursive: true });
    cpSync(join(ROOT, 'configs'), join(dir, 'configs'), { recursive: true });
    cpSync(join(ROOT, 'test/fixtures/tiny-recipe.json'), join(dir, 'recipes', 'tiny-recipe.json'));
  },
  make(rng, corpus, caseDir) {
    cpSync(corpus, caseDir, { recursive: true });
    const folder = pick(rng, ['recipes', 'recipes', 'configs']);
    const files = readdirSync(join(caseDir, folder)).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'));
    const name = pick(rng, files);
    const text = mutateJson(rng, readFileSync(join(caseDir, folder, name), 'utf8'));
    writeFileSync(join(caseDir, folder, name), text);
    const target =
      folder === 'recipes'
        ? name
        : pick(
            rng,
            readdirSync(join(caseDir, 'recipes')).filter((f) => f.endsWith('.json')),
          );
    const set =
      rng.next() < 0.3
        ? ['--set', pick(rng, ['train.lr=0.5', '__proto__.x=1', 'train.steps=-1', 'model=[1]', 'a.b.c.d=1e400', 'constructor.prototype.y=2'])]
        : [];
    return { bytes: text.length, run: () => cli(['validate', join(caseDir, 'recipes', target), ...set]) };
  },
};

const hfFolder: FuzzTarget = {
  name: 'hf-folder',
  // eslint-disable-next-line @typescript-eslint/require-await
  async prepare(dir) {
    const llama = join(dir, 'llama');
    mkdirSync(llama, { recursive: true });
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) cpSync(join(ROOT, 'test/golden/hf-llama-tiny', f), join(llama, f));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(ROOT, 'test/golden/tokenizer-bytelevel', f), join(llama, f));
    const qwen = join(dir, 'qwen3');
    cpSync(join(ROOT, 'test/golden/hf-qwen3-tiny'), qwen, { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(ROOT, 'test/golden/tokenizer-bytelevel', f), join(qwen, f));
  },
  make(rng, corpus, caseDir) {
    const which = pick(rng, ['llama', 'qwen3']);
    const seed = join(corpus, which);
    const weights = which === 'llama' ? 'model.safetensors' : `model-0000${1 + rng.int(8)}-of-00008.safetensors`;
    const files = [
      { name: 'config.json', hot: 0 },
      { name: 'config.json', hot: 0 },
      { name: 'tokenizer_config.json', hot: 0 },
      { name: 'tokenizer.json', hot: 0 },
      { name: weights, hot: safetensorsHot(join(seed, weights)) },
      ...(which === 'qwen3' ? [{ name: 'model.safetensors.index.json', hot: 0 }] : []),
    ];
    const bytes = mutateFolder(rng, seed, caseDir, files);
    return { bytes, run: () => cli(['generate', caseDir, '--prompt', 'ab', '--max-tokens', '2']) };
  },
};

export const TARGETS: readonly FuzzTarget[] = [gguf, safetensors, adapter, modelFolder, recipe, hfFolder];

export function fuzzTarget(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no fuzz target ${name}: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}
