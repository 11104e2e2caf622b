import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { fromPretrained } from '../../src/formats/hf-pretrained.js';
import { modelLayers } from '../../src/nn/model-layers.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { validateRecipe } from '../../src/recipe/load.js';
import { readMetrics } from '../../src/recipe/metrics.js';
import { runRecipe } from '../../src/recipe/run.js';
import { createTask } from '../../src/recipe/tasks.js';
import type { RecipeInput } from '../../src/recipe/schema.js';
import { expectBitNetError } from '../helpers/errors.js';
import { tf, useBackend } from '../helpers/tf.js';

const CHAT = fileURLToPath(new URL('../golden/hf-llama-chat-tiny', import.meta.url));
const TEXT = fileURLToPath(new URL('../../data/tinyshakespeare.txt', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'bitnet-hfconv-'));

const recipe = (name: string, extra: Partial<RecipeInput> = {}): RecipeInput => ({
  name,
  backend: 'cpu',
  model: { type: 'hf', path: CHAT },
  data: { type: 'text', path: TEXT, tokenizer: 'model', contextLength: 32, evalTokens: 1024 },
  train: { steps: 24, batchSize: 4, lr: 0.003, logInterval: 1, optimizer: { type: 'adamw', weightDecay: 0 } },
  output: { dir: join(work, name), checkpointInterval: 1000 },
  ...extra,
});

describe('converting an HF model to BitNet by recipe (hf model, bitnet adapter, lambda warm-up, distillation)', () => {
  beforeAll(() => useBackend('cpu'));

  it('distillation from the model itself: the teacher is the same checkpoint (KL 0 at the start), the loss (1 - alpha) CE + alpha KL', async () => {
    // no adapters and alpha 1, T 1: the first loss is KL(teacher || student) with student == teacher
    const self = validateRecipe(recipe('self-distill', { distill: { alpha: 1, temperature: 1 }, train: { steps: 1, batchSize: 2, lr: 0.01, logInterval: 1 } }));
    await runRecipe(self, {});
    const losses = readMetrics(join(work, 'self-distill', 'metrics.jsonl')).filter((l) => 'loss' in l);
    expect(Math.abs(losses[0]?.loss as number)).toBeLessThan(1e-5);
    const moves = validateRecipe(
      recipe('half-distill', { distill: { alpha: 0.5, temperature: 1 }, train: { steps: 3, batchSize: 2, lr: 0.01, logInterval: 1 } }),
    );
    await runRecipe(moves, {});
    const half = readMetrics(join(work, 'half-distill', 'metrics.jsonl')).filter((l) => 'loss' in l);
    // alpha 0.5: step 1 is half the teacher's own cross-entropy on batch 0 (and no KL)
    const { model, tokenizer } = await fromPretrained(CHAT);
    const task = createTask(moves, (t) => tokenizer?.encode(t, { addSpecialTokens: false }) ?? []);
    const ce = tf.tidy(() => {
      const { x, labels } = task.batch(0);
      return task.loss(model.apply(x) as tf.Tensor, labels).dataSync()[0] as number;
    });
    model.dispose();
    expect(half[0]?.loss as number).toBeCloseTo(ce / 2, 4);
  });

  it('warm-up + distillation with attention relations trains the converted model below the naive conversion, without leaking tensors', async () => {
    const r = validateRecipe(
      recipe('convert', {
        adapters: [{ type: 'bitnet', targetModules: 'all-linear' }],
        quantWarmup: { type: 'linear', steps: 12 },
        distill: { alpha: 0.5, temperature: 2, attentionRelation: { layer: -1, weight: 1 } },
      }),
    );
    // the naive conversion: every projection ternary at once, no training
    const { model, tokenizer } = await fromPretrained(CHAT);
    const task = createTask(r, (t) => tokenizer?.encode(t, { addSpecialTokens: false }) ?? []);
    const teacher = await task.evaluate(model);
    const naive = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    expect(modelLayers(naive.model).filter((l) => l.layer instanceof BitLinear)).toHaveLength(14);
    const naiveLoss = (await task.evaluate(naive.model)).loss;
    naive.dispose();
    model.dispose();

    const before = tf.memory().numTensors;
    const summary = await runRecipe(r, {});
    expect(tf.memory().numTensors).toBe(before);
    expect(summary.status).toBe('completed');
    expect(summary.tokensPerSecond).toBeGreaterThan(0);
    const lines = readMetrics(join(work, 'convert', 'metrics.jsonl')).filter((l) => 'lambda' in l);
    // linear warm-up over 12 steps: lambda = step / 12 for the step's index, then 1
    expect(lines.slice(0, 13).map((l) => l.lambda)).toEqual(Array.from({ length: 13 }, (_, i) => Math.min(1, i / 12)));
    // measured: teacher 3.69, naive conversion 4.23, after 24 steps 3.91 nats/token
    expect(summary.test_loss).toBeLessThan(naiveLoss - 0.15);
    expect(Number.isFinite(teacher.loss)).toBe(true);
  });

  it('SubLN inserts ones-initialized norms before o_proj and down_proj and leaves the pretrained weights as they were; random weights are not the checkpoint', async () => {
    const plain = await fromPretrained(CHAT);
    const sub = await fromPretrained(CHAT, { subLn: true });
    const names = sub.model.layers.map((l) => l.name).filter((n) => n.includes('sub_norm'));
    expect(names).toEqual([
      'model.layers.0.self_attn.attn_sub_norm',
      'model.layers.0.mlp.ffn_sub_norm',
      'model.layers.1.self_attn.attn_sub_norm',
      'model.layers.1.mlp.ffn_sub_norm',
    ]);
    for (const n of names) {
      const gamma = Array.from(sub.model.getLayer(n).getWeights()[0]?.dataSync() ?? []);
      expect(gamma).toEqual(new Array(n.includes('ffn') ? 128 : 64).fill(1));
    }
    const q = (m: tf.LayersModel): Float32Array => m.getLayer('model.layers.1.self_attn.q_proj').getWeights()[0]?.dataSync() as Float32Array;
    expect(q(sub.model)).toEqual(q(plain.model));
    const random = await fromPretrained(CHAT, { weights: 'random' });
    expect(q(random.model)).not.toEqual(q(plain.model));
    for (const m of [plain, sub, random]) m.model.dispose();
  });

  it('refuses the model tokenizer without an hf model, and a missing teacher', () => {
    expectBitNetError(() => validateRecipe({ ...recipe('bad'), model: { type: 'bitnet-lm' } }), 'INVALID_CONFIG', 'data.tokenizer');
    expectBitNetError(() => validateRecipe(recipe('bad', { distill: { teacher: join(work, 'nowhere') } })), 'INVALID_CONFIG', 'distill.teacher');
  });
});
