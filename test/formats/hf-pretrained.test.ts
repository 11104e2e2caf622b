import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel, loadPeftModel } from '../../src/adapter/peft.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { inspectPath } from '../../src/inspect/inspect.js';
import { fromPretrained } from '../../src/formats/hf-pretrained.js';
import { llamaConfigFromHf } from '../../src/models/llama/config.js';
import { expectBitNetError } from '../helpers/errors.js';
import { worstRowRelative } from '../helpers/golden.js';
import { tf, useBackend } from '../helpers/tf.js';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));

describe('fromPretrained: HF Llama, Qwen2 and Qwen3 checkpoints', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['hf-llama-tiny', 'llama', false, 16],
    ['hf-qwen2-tiny', 'qwen2', true, 16],
    ['hf-qwen3-tiny', 'qwen3', false, 32],
  ] as const)('%s: the logits transformers computes in float32 (scripts/golden/make_hf_llama_golden.py)', async (name, family, tied, headDim) => {
    const before = tf.memory().numTensors;
    const { model, config } = await fromPretrained(golden(name));
    expect(config.family).toBe(family);
    expect(config.tiedHead).toBe(tied);
    expect(config.headDim).toBe(headDim);
    expect(config.qkNorm).toBe(family === 'qwen3');
    expect(model.layers.map((l) => l.name)).toContain('model.layers.1.self_attn.q_proj');
    const want = JSON.parse(readFileSync(join(golden(name), 'logits.json'), 'utf8')) as { tokens: number[]; logits: number[][] };
    const got = tf.tidy(() => (model.predict(tf.tensor2d([want.tokens], [1, want.tokens.length], 'int32')) as tf.Tensor).arraySync() as number[][][]);
    expect(worstRowRelative(got[0] as number[][], want.logits)).toBeLessThan(1e-4);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes peft-style targets on the HF module names (LoRA on q_proj and v_proj; BitNet on all-linear but the head)', async () => {
    const { model } = await fromPretrained(golden('hf-llama-tiny'));
    const lora = getPeftModel(model, { peftType: 'LORA', targetModules: ['q_proj', 'v_proj'], r: 4 });
    expect(lora.report.matched).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    lora.dispose();
    const bitnet = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    expect(bitnet.report.matched).toHaveLength(14);
    expect(bitnet.report.matched).not.toContain('lm_head');
    bitnet.dispose();
    model.dispose();
  });

  it('reads both config spellings and llama3 rope scaling; refuses other architectures and bad shapes', async () => {
    const v5 = JSON.parse(readFileSync(join(golden('hf-llama-tiny'), 'config.json'), 'utf8')) as Record<string, unknown>;
    const params = v5.rope_parameters as Record<string, unknown>;
    const { rope_theta: ropeTheta, ...scaling } = params;
    const v4 = { ...v5, rope_theta: ropeTheta, rope_scaling: scaling, rope_parameters: undefined };
    expect(llamaConfigFromHf(v4)).toEqual(llamaConfigFromHf(v5));
    // llama3 with original context 16: pair 0 (wavelength 2 pi) lies in the blended band, the rest are
    // longer than 16 and slowed by `factor`; transformers' inv_freq ratios are 1.7359413 and 8
    const factors = llamaConfigFromHf(v5).ropeFreqFactors as number[];
    const smooth = (16 / (2 * Math.PI) - 1) / (4 - 1);
    expect(factors[0]).toBeCloseTo(1 / ((1 - smooth) / 8 + smooth), 6);
    expect(factors[0]).toBeCloseTo(1.7359413, 6);
    expect(factors.slice(1)).toEqual(new Array(7).fill(8));
    expectBitNetError(() => llamaConfigFromHf({ ...v5, model_type: 'gpt2' }), 'UNSUPPORTED', 'model_type');
    const dir = mkdtempSync(join(tmpdir(), 'bitnet-hf-'));
    cpSync(golden('hf-llama-tiny'), dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...v5, intermediate_size: 96 }));
    await expect(fromPretrained(dir)).rejects.toMatchObject({ code: 'CORRUPT_FILE', field: 'model.layers.0.mlp.gate_proj.weight' });
  });
});

describe('LoRA on an imported HF model, both ways with Python peft', () => {
  beforeAll(() => useBackend('cpu'));

  it('loads an adapter Python peft saved (q_proj, v_proj) with the logits peft computes, and re-saves the same tensors', async () => {
    const adapterDir = golden('hf-llama-tiny-lora');
    const { model } = await fromPretrained(golden('hf-llama-tiny'));
    const peft = await loadPeftModel(model, adapterDir);
    const want = JSON.parse(readFileSync(join(adapterDir, 'logits.json'), 'utf8')) as { tokens: number[]; logits: number[][] };
    const got = tf.tidy(() => (peft.model.predict(tf.tensor2d([want.tokens], [1, want.tokens.length], 'int32')) as tf.Tensor).arraySync() as number[][][]);
    expect(worstRowRelative(got[0] as number[][], want.logits)).toBeLessThan(1e-4);
    // what this toolkit saves is what peft saved: the same tensor names, shapes and values
    const out = mkdtempSync(join(tmpdir(), 'bitnet-lora-'));
    await peft.save(out);
    const theirs = await readSafetensors(join(adapterDir, 'adapter_model.safetensors'));
    const ours = await readSafetensors(join(out, 'adapter_model.safetensors'));
    expect([...ours.names].sort()).toEqual([...theirs.names].sort());
    for (const name of theirs.names) {
      expect(ours.tensor(name).shape, name).toEqual(theirs.tensor(name).shape);
      expect(ours.float32(name), name).toEqual(theirs.float32(name));
    }
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] });
    peft.dispose();
    model.dispose();
  });
});

describe('LoRA on the converted (BitNet) model', () => {
  beforeAll(() => useBackend('cpu'));

  it('rides on the frozen ternary projections and saves in the layout Python peft wrote for the full-precision model', async () => {
    const { model } = await fromPretrained(golden('hf-llama-tiny'));
    const bitnet = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    const lora = getPeftModel(bitnet.model, { peftType: 'LORA', targetModules: ['q_proj', 'v_proj'], r: 4, loraAlpha: 8 });
    expect(lora.report.matched).toHaveLength(4);
    // only the LoRA matrices train: 2 layers x (q, v) x (A, B)
    expect(lora.model.trainableWeights).toHaveLength(8);
    const out = mkdtempSync(join(tmpdir(), 'bitnet-lora-bitnet-'));
    await lora.save(out);
    const theirs = await readSafetensors(join(golden('hf-llama-tiny-lora'), 'adapter_model.safetensors'));
    const ours = await readSafetensors(join(out, 'adapter_model.safetensors'));
    expect([...ours.names].sort()).toEqual([...theirs.names].sort());
    for (const name of theirs.names) expect(ours.tensor(name).shape, name).toEqual(theirs.tensor(name).shape);
    lora.dispose();
    bitnet.dispose();
    model.dispose();
  });
});

describe('bitnet inspect <hf-dir>', () => {
  it('reports the architecture, the tensors by dtype and the tokenizer', async () => {
    const r = await inspectPath(golden('hf-llama-tiny'));
    expect(r.kind).toBe('hf-model');
    // embeddings + 2 layers (q, k, v, o, gate, up, down, 2 norms) + final norm + untied head, from config.json's shapes
    const layer = 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 128 * 64 + 2 * 64;
    expect(r.data).toMatchObject({ tensors: 1 + 2 * 9 + 2, weights: 64 * 64 + 2 * layer + 64 + 64 * 64, dtypes: { BF16: { tensors: 21 } }, tokenizer: false });
    await expect(inspectPath(golden('tokenizer-bytelevel'))).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});
