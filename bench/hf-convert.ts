// Converting a pretrained HF model to BitNet b1.58, measured: the teacher's validation loss, and the
// recipes/hf-to-bitnet.json conversion with warm-up + distillation, without distillation, and BitNet
// from scratch (the same architecture, random weights), each on the same token budget.
// Usage (after npm run build):
//   node dist/bench/hf-convert.js row <teacher|distill|no-distill|scratch> <model dir> <backend> <out dir> [--set k=v ...]
//   node dist/bench/hf-convert.js table <dir with hf-convert-*.json>     (writes bench/results/hf-convert.{json,md})
//   node dist/bench/hf-convert.js parity <converted .gguf> <HF folder> [positions]   (bench/results/hf-convert-parity.json; needs test/interop)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import '../adapters/index.js';
import { selectBackend, type BackendName } from '../src/backend.js';
import { fromPretrained } from '../src/formats/hf-pretrained.js';
import { packageRoot } from '../src/kernels/package-root.js';
import { loadRecipe } from '../src/recipe/load.js';
import { runRecipe } from '../src/recipe/run.js';
import { createTask } from '../src/recipe/tasks.js';
import { machine, writeResult } from './lib.js';
import { ggufParity } from './lm-parity.js';
import { loadLlamaGguf } from '../src/formats/gguf/llama-gguf.js';
import { HfTokenizer } from '../src/tokenizer/hf-tokenizer.js';

const ROWS = {
  teacher: { label: 'teacher (full precision, no training)', set: [] },
  distill: { label: 'BitNet, converted: lambda warm-up + distillation', set: [] },
  'no-distill': { label: 'BitNet, converted: lambda warm-up, no distillation', set: ['distill=null'] },
  scratch: {
    label: 'BitNet from scratch (same architecture, random init)',
    set: ['distill=null', 'model.weights=random', 'quantWarmup={"type":"none"}', 'train.lr=0.002'],
  },
} as const;
type Row = keyof typeof ROWS;

interface RowResult {
  row: Row;
  label: string;
  backend: string;
  device: string;
  validationLoss: number;
  validationTargets: number;
  trainTokens: number;
  trainSeconds: number;
  tokensPerSecond: number | null;
  overrides: string[];
}

async function runRow(row: Row, modelDir: string, backend: BackendName, out: string, extra: string[]): Promise<RowResult> {
  const set = [`model.path=${modelDir}`, `output.dir=${join(out, `run-${row}`)}`, ...ROWS[row].set, ...extra];
  const recipe = loadRecipe(join(packageRoot(), 'recipes', 'hf-to-bitnet.json'), { set });
  const device = process.env.BENCH_DEVICE ?? `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`;
  if (row === 'teacher') {
    await selectBackend(backend);
    const { model, tokenizer } = await fromPretrained(modelDir);
    const task = createTask(recipe, (t) => tokenizer?.encode(t, { addSpecialTokens: false }) ?? []);
    const r = await task.evaluate(model);
    model.dispose();
    const d = recipe.data.type === 'text' ? recipe.data : undefined;
    return {
      row,
      label: ROWS[row].label,
      backend,
      device,
      validationLoss: r.loss,
      validationTargets: d === undefined ? 0 : Math.floor(d.evalTokens / d.contextLength) * d.contextLength,
      trainTokens: 0,
      trainSeconds: 0,
      tokensPerSecond: null,
      overrides: set,
    };
  }
  const s = await runRecipe(recipe, { backend, overwrite: true });
  const ctx = recipe.data.type === 'text' ? recipe.data.contextLength : 0;
  return {
    row,
    label: ROWS[row].label,
    backend: s.backend,
    device,
    validationLoss: s.test_loss,
    validationTargets: 0,
    trainTokens: s.steps * recipe.train.batchSize * ctx,
    trainSeconds: s.trainSeconds,
    tokensPerSecond: s.tokensPerSecond ?? null,
    overrides: set,
  };
}

/** The converted model's GGUF in real llama.cpp (node-llama-cpp, test/interop) against the runner. */
async function parity(gguf: string, tokenizerDir: string, positions: number): Promise<Record<string, unknown>> {
  const weights = await loadLlamaGguf(gguf);
  const tok = HfTokenizer.fromDir(tokenizerDir);
  const text = readFileSync(join(packageRoot(), 'data', 'tinyshakespeare.txt'), 'utf8');
  const ids = tok.encode(text, { addSpecialTokens: false });
  const t0 = performance.now();
  const r = await ggufParity(gguf, weights, {
    prompts: ['ROMEO:', 'First Citizen:\n', 'KING HENRY'].map((p) => ({ text: p, tokens: tok.encode(p, { addSpecialTokens: false }) })),
    validation: ids.slice(Math.floor(0.9 * ids.length)),
    positions,
    decode: (x) => tok.decode(x),
  });
  return { bench: 'hf-convert-parity', gguf, architecture: weights.ggufArchitecture, machine: machine(), seconds: (performance.now() - t0) / 1000, ...r };
}

async function table(dir: string): Promise<void> {
  const rows = readdirSync(dir)
    .filter((f) => /^hf-convert-[a-z-]+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as RowResult)
    .sort((a, b) => Object.keys(ROWS).indexOf(a.row) - Object.keys(ROWS).indexOf(b.row));
  const teacher = rows.find((r) => r.row === 'teacher')?.validationLoss;
  const lines = [
    '# Converting shakespeare-llama-21m to BitNet b1.58 (recipes/hf-to-bitnet.json)',
    '',
    'Validation: the last 10% of tiny Shakespeare in the model tokenizer, windows of 256 tokens (the recipe evaluation). ',
    '',
    '| model | validation nats/token | vs teacher | training tokens | time s | backend | tokens/s |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.validationLoss.toFixed(4)} | ${teacher === undefined ? '' : `${(((r.validationLoss - teacher) / teacher) * 100).toFixed(1)}%`} | ${r.trainTokens.toLocaleString('en-US')} | ${r.trainSeconds.toFixed(0)} | ${r.backend} | ${r.tokensPerSecond === null ? '' : r.tokensPerSecond.toFixed(0)} |`,
    ),
    '',
    `Device: ${rows[0]?.device ?? ''}.`,
    '',
    'Each row is recipes/hf-to-bitnet.json (240 steps of 32 x 256 tokens, AdamW, cosine lr from 1e-3, lambda linear over 100 steps, distillation T 2, alpha 0.5) with these overrides:',
    '',
    ...rows.map((r) => `- ${r.row}: ${r.overrides.filter((o) => !o.startsWith('output.dir=')).join(', ')}`),
  ];
  await writeResult('hf-convert.md', `${lines.join('\n')}\n`);
  await writeResult('hf-convert.json', `${JSON.stringify({ bench: 'hf-convert', rows }, null, 2)}\n`);
  console.log(lines.join('\n'));
}

if (process.argv[1]?.endsWith('hf-convert.js')) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'table') {
    await table(args[0] ?? 'bench/results');
  } else if (mode === 'row') {
    const [row, modelDir, backend, out, ...rest] = args;
    if (row === undefined || !(row in ROWS) || modelDir === undefined || backend === undefined || out === undefined) {
      console.error('usage: hf-convert.js row <teacher|distill|no-distill|scratch> <model dir> <backend> <out dir> [--set k=v ...]');
      process.exit(2);
    }
    const extra = rest.filter((a, i) => rest[i - 1] === '--set');
    const r = await runRow(row as Row, modelDir, backend as BackendName, out, extra);
    writeFileSync(join(out, `hf-convert-${row}.json`), `${JSON.stringify(r, null, 2)}\n`);
    console.log(
      `${row}: validation ${r.validationLoss.toFixed(4)} nats/token, ${r.trainTokens} tokens in ${r.trainSeconds.toFixed(1)} s (${r.tokensPerSecond?.toFixed(0) ?? '-'} tokens/s)`,
    );
  } else if (mode === 'parity') {
    const [gguf, tokenizerDir, positions] = args;
    if (gguf === undefined || tokenizerDir === undefined) {
      console.error('usage: hf-convert.js parity <converted .gguf> <HF folder with its tokenizer> [positions]');
      process.exit(2);
    }
    const r = await parity(gguf, tokenizerDir, Number(positions ?? 1000));
    await writeResult('hf-convert-parity.json', `${JSON.stringify(r, null, 2)}\n`);
    console.log(JSON.stringify(r, null, 2));
  } else {
    console.error('usage: hf-convert.js row ... | table <dir> | parity <gguf> <hf-dir>');
    process.exit(2);
  }
  process.exit(0);
}
