import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { exportHfPretrained, type HfExportOptions } from '../../src/formats/hf-export.js';
import { fromPretrained } from '../../src/formats/hf-pretrained.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { worstRowRelative } from '../helpers/golden.js';
import { tf, useBackend } from '../helpers/tf.js';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));

interface Logits {
  tokens: number[];
  logits: number[][];
  transformers_classes: string[];
  trainer_losses?: number[];
}

function worstRelative(model: tf.LayersModel, want: Logits): number {
  const got = tf.tidy(() => (model.predict(tf.tensor2d([want.tokens], [1, want.tokens.length], 'int32')) as tf.Tensor).arraySync() as number[][][]);
  return worstRowRelative(got[0] as number[][], want.logits);
}

describe('HF export of a converted model, as transformers loads it (scripts/golden/make_hf_export_golden.py)', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['hf-llama-chat-tiny', 'hf-export-llama-bitlinear', { linearClass: 'bitlinear' }, 'BitLinear'],
    ['hf-qwen3-tiny', 'hf-export-qwen3-autobitlinear', { linearClass: 'autobitlinear' }, 'AutoBitLinear'],
    ['hf-llama-chat-tiny', 'hf-export-llama-online', { mode: 'online' }, 'AutoBitLinear'],
  ] as const)('%s -> %s: the files transformers read, and its logits equal ours', async (source, name, options: HfExportOptions, cls) => {
    const before = tf.memory().numTensors;
    const { model } = await fromPretrained(golden(source));
    const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    const out = mkdtempSync(join(tmpdir(), 'bitnet-hfexport-'));
    const report = await exportHfPretrained(peft.model, golden(source), out, options);
    expect(report.bitLinear).toBe(14);
    // what this export writes is what transformers loaded for the golden logits
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(readFileSync(join(golden(name), 'config.json'), 'utf8'));
    const ours = await readSafetensors(join(out, 'model.safetensors'));
    const theirs = await readSafetensors(join(golden(name), 'model.safetensors'));
    expect([...ours.names].sort()).toEqual([...theirs.names].sort());
    for (const n of theirs.names) {
      const packed = theirs.tensor(n).dtype === 'U8';
      expect(packed ? ours.tensor(n).bytes : ours.float32(n), n).toEqual(packed ? theirs.tensor(n).bytes : theirs.float32(n));
    }
    const want = JSON.parse(readFileSync(join(golden(name), 'logits.json'), 'utf8')) as Logits;
    expect(want.transformers_classes).toEqual([cls]);
    expect(worstRelative(peft.model, want)).toBeLessThan(1e-4);
    peft.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('continues elsewhere: HF Trainer trained the online export (loss fell), and the result imports back with equal logits', async () => {
    const dir = golden('hf-export-llama-online-trained');
    const want = JSON.parse(readFileSync(join(dir, 'logits.json'), 'utf8')) as Logits;
    const losses = want.trainer_losses as number[];
    expect(losses.at(-1) as number).toBeLessThan((losses[0] as number) - 0.1);
    const { model, quantization } = await fromPretrained(dir);
    expect(quantization).toEqual({ linearClass: 'autobitlinear', mode: 'online' });
    const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    expect(worstRelative(peft.model, want)).toBeLessThan(1e-4);
    peft.dispose();
    model.dispose();
  });

  it('refuses what transformers cannot load: Qwen with SubLN; and packed (offline) checkpoints on import', async () => {
    const { model } = await fromPretrained(golden('hf-qwen3-tiny'), { subLn: true });
    const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    await expect(exportHfPretrained(peft.model, golden('hf-qwen3-tiny'), mkdtempSync(join(tmpdir(), 'bitnet-hfx-')))).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      field: 'subLn',
    });
    peft.dispose();
    model.dispose();
    await expect(fromPretrained(golden('hf-export-llama-bitlinear'))).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'quantization_config' });
  });
});
