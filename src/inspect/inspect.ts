import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { readGgufHeader, readGgufTensor } from '../formats/gguf/reader.js';
import type { GgufValue } from '../formats/gguf/values.js';
import { openCheckpoint } from '../formats/hf-checkpoint.js';
import { readSafetensors } from '../formats/safetensors/reader.js';
import { checkTopology } from '../formats/tfjs-topology.js';
import { llamaConfigFromHf } from '../models/llama/config.js';
import type { Recipe } from '../recipe/schema.js';
import { HfTokenizer } from '../tokenizer/hf-tokenizer.js';
import { listCheckpoints } from '../recipe/checkpoint.js';
import { loadExperiment, experimentRuns } from '../recipe/experiment.js';
import { loadRecipe } from '../recipe/load.js';
import { readMetrics } from '../recipe/metrics.js';
import { readJsonObject } from '../util/json-file.js';

export interface Inspection {
  kind: 'recipe' | 'experiment' | 'safetensors' | 'run' | 'checkpoint' | 'adapter' | 'tfjs-model' | 'gguf' | 'hf-model';
  path: string;
  /** Ordered sections of facts; rows are [name, value, ...]. */
  sections: { title: string; rows: string[][] }[];
  data: Record<string, unknown>;
}

const readJson = readJsonObject;

async function inspectSafetensors(path: string): Promise<Inspection> {
  const file = await readSafetensors(path);
  const rows = file.header.tensors.map((t) => [t.name, t.dtype, JSON.stringify(t.shape), String(t.end - t.begin)]);
  return {
    kind: 'safetensors',
    path,
    sections: [
      { title: 'metadata', rows: Object.entries(file.metadata).map(([k, v]) => [k, v]) },
      { title: `${rows.length} tensors`, rows: [['name', 'dtype', 'shape', 'bytes'], ...rows] },
    ],
    data: { metadata: file.metadata, tensors: file.header.tensors.map(({ name, dtype, shape, begin, end }) => ({ name, dtype, shape, bytes: end - begin })) },
  };
}

/** The adapters a run saved beside its final model (final/adapters/<i>-<type>/, peft layout), a line each. */
function runAdapters(dir: string): { dir: string; summary: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'adapter_config.json')))
    .sort()
    .map((name) => {
      const c = readJson(join(dir, name, 'adapter_config.json'));
      const fields = ['peft_type', 'r', 'lora_alpha', 'use_dora', 'target_modules', 'modules_to_save', 'base_model_name_or_path'];
      return {
        dir: join(dir, name),
        summary: fields
          .filter((f) => c[f] !== undefined && c[f] !== null)
          .map((f) => `${f}=${JSON.stringify(c[f])}`)
          .join(' '),
      };
    });
}

async function inspectRun(path: string): Promise<Inspection> {
  const summary = existsSync(join(path, 'summary.json')) ? readJson(join(path, 'summary.json')) : {};
  const recipe = existsSync(join(path, 'recipe.json')) ? readJson(join(path, 'recipe.json')) : {};
  const checkpoints = await listCheckpoints(path);
  const metrics = readMetrics(join(path, 'metrics.jsonl'));
  const lastTrain = metrics.filter((l) => 'loss' in l).at(-1);
  const lastEval = metrics.filter((l) => 'test_loss' in l).at(-1);
  const adapters = runAdapters(join(path, 'final', 'adapters'));
  return {
    kind: 'run',
    path,
    sections: [
      { title: 'run', rows: [['recipe', typeof recipe.name === 'string' ? recipe.name : '?'], ...Object.entries(summary).map(([k, v]) => [k, String(v)])] },
      { title: 'checkpoints', rows: checkpoints.map((c) => [`step ${c.step}`, c.dir]) },
      { title: 'last metrics', rows: [lastTrain, lastEval].filter((l) => l !== undefined).map((l) => [`step ${l.step}`, JSON.stringify(l)]) },
      ...(adapters.length === 0
        ? []
        : [{ title: 'adapters (unmerged in final/: bitnet export --adapter merge | separate)', rows: adapters.map((a) => [a.dir, a.summary]) }]),
    ],
    data: { summary, recipe, checkpoints, lastTrain, lastEval, finalModel: existsSync(join(path, 'final', 'model.json')), adapters },
  };
}

async function inspectCheckpoint(path: string): Promise<Inspection> {
  const state = readJson(join(path, 'state.json'));
  const weights = await readSafetensors(join(path, 'model.safetensors'));
  return {
    kind: 'checkpoint',
    path,
    sections: [
      { title: 'state', rows: Object.entries(state).map(([k, v]) => [k, String(v)]) },
      { title: 'weights', rows: weights.header.tensors.map((t) => [t.name, t.dtype, JSON.stringify(t.shape)]) },
    ],
    data: { state, weights: weights.names },
  };
}

function inspectRecipeOrExperiment(path: string): Inspection {
  const json = readJson(path);
  if ('base' in json && ('variants' in json || 'grid' in json)) {
    const { experiment } = loadExperiment(path);
    const runs = experimentRuns(experiment);
    return {
      kind: 'experiment',
      path,
      sections: [{ title: `experiment ${experiment.name}: ${runs.length} runs`, rows: runs.map((r) => [r.name, r.overrides.join(' ')]) }],
      data: { experiment, runs },
    };
  }
  const recipe = loadRecipe(path);
  const adapters = recipe.adapters.map((a) => `${a.type}(${JSON.stringify(a.targetModules)})`).join(', ') || 'none';
  return {
    kind: 'recipe',
    path,
    sections: [
      {
        title: `recipe ${recipe.name} (valid)`,
        rows: [
          ['model', describeRecipeModel(recipe.model)],
          ['data', recipe.data.type],
          ['adapters', adapters],
          ...(recipe.distill == null
            ? []
            : [['distill', `from ${recipe.distill.teacher ?? 'the model itself'} (T ${recipe.distill.temperature}, alpha ${recipe.distill.alpha})`]]),
          ['optimizer', `${recipe.train.optimizer.type} lr ${recipe.train.lr} (${recipe.train.schedule.type})`],
          ['length', recipe.train.steps != null ? `${recipe.train.steps} steps` : `${recipe.train.epochs ?? 5} epochs`],
          ['output', recipe.output.dir],
        ],
      },
    ],
    data: { recipe },
  };
}

function describeValue(v: GgufValue): string {
  if (v.type === 'array') return `[${v.itemType} x ${v.values.length}]${v.values.length <= 8 ? ` ${JSON.stringify(Array.from(v.values, String))}` : ''}`;
  const text = String(v.value);
  return text.length > 80 ? `${text.slice(0, 77)}... (${text.length} chars)` : text;
}

function tensorStats(values: Float32Array): Record<string, number> {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  let zeros = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sq += v * v;
    if (v === 0) zeros++;
  }
  const mean = sum / values.length;
  return { min, max, mean, std: Math.sqrt(Math.max(0, sq / values.length - mean * mean)), zeros: zeros / values.length };
}

async function inspectGguf(path: string, stats: boolean): Promise<Inspection> {
  const h = await readGgufHeader(path);
  const tensors = [];
  for (const t of h.tensors) {
    const entry: Record<string, unknown> = { name: t.name, type: t.type, dims: t.dims, bytes: t.bytes, bitsPerWeight: (t.bytes * 8) / t.elements };
    if (stats) entry.stats = tensorStats(await readGgufTensor(path, t));
    tensors.push(entry);
  }
  const weights = h.tensors.reduce((n, t) => n + t.elements, 0);
  const bytes = h.tensors.reduce((n, t) => n + t.bytes, 0);
  const fmt = (v: number): string => String(Number(v.toPrecision(4)));
  const rows = tensors.map((t) => {
    const s = t.stats as Record<string, number> | undefined;
    return [
      t.name as string,
      t.type as string,
      JSON.stringify(t.dims),
      String(t.bytes),
      (t.bitsPerWeight as number).toFixed(3),
      ...(s === undefined
        ? []
        : [fmt(s.min as number), fmt(s.max as number), fmt(s.mean as number), fmt(s.std as number), `${((s.zeros as number) * 100).toFixed(1)}%`]),
    ];
  });
  return {
    kind: 'gguf',
    path,
    sections: [
      {
        title: `GGUF v${h.version}, ${h.metadata.size} metadata entries, alignment ${h.alignment}`,
        rows: [...h.metadata].map(([k, v]) => [k, describeValue(v)]),
      },
      {
        title: `${h.tensors.length} tensors, ${weights.toLocaleString('en-US')} weights, ${bytes.toLocaleString('en-US')} bytes${weights > 0 ? ` (${((bytes * 8) / weights).toFixed(3)} bits/weight)` : ''}`,
        rows: [['name', 'type', 'shape (ggml)', 'bytes', 'bits/weight', ...(stats ? ['min', 'max', 'mean', 'std', 'zeros'] : [])], ...rows],
      },
    ],
    data: {
      version: h.version,
      alignment: h.alignment,
      metadata: Object.fromEntries(
        [...h.metadata].map(([k, v]) => [
          k,
          v.type === 'array'
            ? { type: 'array', itemType: v.itemType, length: v.values.length }
            : { type: v.type, value: typeof v.value === 'bigint' ? v.value.toString() : v.value },
        ]),
      ),
      tensors,
      totalBytes: bytes,
      totalWeights: weights,
    },
  };
}

/** A HuggingFace model folder: the architecture as this toolkit reads it, the tensors by dtype, the tokenizer. */
async function inspectHfModel(path: string): Promise<Inspection> {
  const json = readJson(join(path, 'config.json'));
  const config = json.quantization_config !== undefined && json.model_type === 'bitnet' ? undefined : llamaConfigFromHf(json);
  const fileOf = await openCheckpoint(path);
  const index = join(path, 'model.safetensors.index.json');
  const names = existsSync(index) ? Object.keys((readJson(index) as { weight_map: Record<string, string> }).weight_map) : fileOf('').names;
  const byDtype = new Map<string, { tensors: number; weights: number }>();
  for (const name of names) {
    const t = fileOf(name).tensor(name);
    const entry = byDtype.get(t.dtype) ?? { tensors: 0, weights: 0 };
    entry.tensors++;
    entry.weights += t.shape.reduce((a, d) => a * d, 1);
    byDtype.set(t.dtype, entry);
  }
  const tokenizer = existsSync(join(path, 'tokenizer.json')) ? HfTokenizer.fromDir(path) : undefined;
  const weights = [...byDtype.values()].reduce((a, e) => a + e.weights, 0);
  return {
    kind: 'hf-model',
    path,
    sections: [
      {
        title: `${String(json.model_type)} (${config === undefined ? 'BitNet checkpoint: importHfBitnet' : 'fromPretrained'})`,
        rows: Object.entries(config ?? json).map(([k, v]) => [k, JSON.stringify(v)]),
      },
      {
        title: `${names.length} tensors, ${weights.toLocaleString('en-US')} weights`,
        rows: [['dtype', 'tensors', 'weights'], ...[...byDtype].map(([d, e]) => [d, String(e.tensors), String(e.weights)])],
      },
      {
        title: 'tokenizer',
        rows:
          tokenizer === undefined
            ? [['tokenizer.json', 'none']]
            : [
                ['bos', String(tokenizer.bos)],
                ['eos', String(tokenizer.eos)],
                ['pad', String(tokenizer.pad)],
              ],
      },
    ],
    data: { config: config ?? json, tensors: names.length, weights, dtypes: Object.fromEntries(byDtype), tokenizer: tokenizer !== undefined },
  };
}

/** Describes a recipe, experiment, run folder, checkpoint, adapter folder, tfjs model or safetensors file. */
export async function inspectPath(path: string, options: { stats?: boolean } = {}): Promise<Inspection> {
  if (!existsSync(path)) throw new BitNetError('FILE_NOT_FOUND', `nothing at ${path}`, { field: 'path' });
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'state.json'))) return inspectCheckpoint(path);
    if (existsSync(join(path, 'recipe.json'))) return inspectRun(path);
    if (existsSync(join(path, 'adapter_config.json'))) {
      const config = readJson(join(path, 'adapter_config.json'));
      const inner = await inspectSafetensors(join(path, 'adapter_model.safetensors'));
      return {
        kind: 'adapter',
        path,
        sections: [{ title: 'adapter_config.json', rows: Object.entries(config).map(([k, v]) => [k, JSON.stringify(v)]) }, ...inner.sections],
        data: { config, ...inner.data },
      };
    }
    if (existsSync(join(path, 'config.json'))) return inspectHfModel(path);
    if (existsSync(join(path, 'model.json'))) {
      const jsonPath = join(path, 'model.json');
      const model = readJson(jsonPath);
      const layers = checkTopology(model.modelTopology, jsonPath);
      return {
        kind: 'tfjs-model',
        path,
        sections: [{ title: `${layers.length} layers`, rows: layers.map((l) => [String(l.config.name), l.class_name]) }],
        data: { layers },
      };
    }
    throw new BitNetError('UNSUPPORTED', `${path} is not a run, checkpoint, adapter, tfjs model or HuggingFace model folder`, { field: 'path' });
  }
  if (path.endsWith('.safetensors')) return inspectSafetensors(path);
  if (path.endsWith('.gguf')) return inspectGguf(path, options.stats === true);
  if (path.endsWith('.json')) return inspectRecipeOrExperiment(path);
  throw new BitNetError('UNSUPPORTED', `cannot inspect ${path}`, {
    field: 'path',
    hint: 'a recipe or experiment .json, a .safetensors or .gguf file, or a run/checkpoint/adapter/model folder',
  });
}

function describeRecipeModel(m: Recipe['model']): string {
  switch (m.type) {
    case 'mlp':
      return `mlp ${m.layer} ${m.hidden.join('-')}`;
    case 'tfjs':
      return `tfjs ${m.path}`;
    case 'bitnet-lm':
      return `bitnet-lm ${m.layer} ${m.numLayers}x${m.hiddenSize}`;
    case 'hf':
      return `hf ${m.path} (${m.weights}${m.subLn ? ', SubLN' : ''})`;
    case 'gguf':
      return `gguf ${m.path} (frozen ternary)`;
  }
}
