// Issue #17, as a user meets it: a model saved with an unmerged LoRA adapter (what a recipe run
// with a LoRA adapter leaves in final/). `bitnet export` refuses to drop the adapter (exit 2),
// writes it beside the base with --adapter separate (the base's tensors untouched, the adapter's
// in llama.cpp's LoRA GGUF), or folds it in with --adapter merge (the ternary codes change);
// `bitnet generate` on the folder and on base + --lora gives the adapted model's tokens.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { LoraLinear } from '../../adapters/lora/layer.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { readGgufHeader } from '../../src/formats/gguf/reader.js';
import { saveModel } from '../../src/formats/tfjs-fs.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { buildBitnetLm, lmWeightsOf } from '../../src/models/bitnet/tfjs.js';
import { setWeightsByName, weightsByName } from '../../src/nn/weights.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';
import { TINY_LM_CONFIG } from '../helpers/tiny-lm.js';

const CONFIG = { ...TINY_LM_CONFIG, vocabSize: 257, contextLength: 32 };

describe('bitnet export and generate with an unmerged LoRA adapter', () => {
  let dir = '';
  let adapted: ReturnType<typeof lmWeightsOf>;
  let base: ReturnType<typeof lmWeightsOf>;

  beforeAll(async () => {
    await useBackend('cpu');
    const model = buildBitnetLm({ ...CONFIG, layer: 'bitlinear', seed: 6 });
    const peft = getPeftModel(model, { peftType: 'LORA', targetModules: ['attn_q', 'ffn_down'], r: 8, loraAlpha: 16 });
    model.dispose();
    let seed = 70;
    for (const layer of peft.model.layers) {
      if (!(layer instanceof LoraLinear)) continue;
      const values = weightsByName(layer);
      const b = tf.tensor(seededArray((values.lora_B as tf.Tensor).size, seed++, 0.3), (values.lora_B as tf.Tensor).shape);
      setWeightsByName(layer, { ...values, lora_B: b });
      b.dispose();
    }
    dir = mkdtempSync(join(tmpdir(), 'bitnet-lora-export-'));
    await saveModel(peft.model, join(dir, 'run', 'final'));
    // as a recipe run leaves it: the adapter beside the model, a recipe.json
    await peft.save(join(dir, 'run', 'final', 'adapters', '0-lora'));
    writeFileSync(join(dir, 'run', 'recipe.json'), JSON.stringify({ name: 'lm-lora' }));
    adapted = lmWeightsOf(peft.model);
    peft.disable();
    base = lmWeightsOf(peft.model);
    peft.dispose();
  });

  it('inspect lists the unmerged adapter of a run', async () => {
    const io = captureIo();
    expect(await runCli(['inspect', join(dir, 'run')], io)).toBe(0);
    expect(io.stdout.join('')).toMatch(/adapters \(unmerged[\s\S]*0-lora\s+peft_type="LORA" r=8 lora_alpha=16/);
  });

  it('export without --adapter refuses (exit 2) and writes nothing', async () => {
    const io = captureIo();
    const out = join(dir, 'refused.gguf');
    expect(await runCli(['export', join(dir, 'run'), '--out', out], io)).toBe(2);
    expect(io.stderr.join('')).toMatch(/unmerged LoRA adapter[\s\S]*--adapter merge/);
    expect(existsSync(out)).toBe(false);
  });

  it('--adapter separate: the base GGUF is the base model, the adapter GGUF holds the update; generate applies it', async () => {
    const io = captureIo();
    const out = join(dir, 'base.gguf');
    expect(await runCli(['export', join(dir, 'run'), '--out', out, '--adapter', 'separate', '--json'], io)).toBe(0);
    const report = JSON.parse(io.stdout.join('')) as { adapter: string };
    expect(report.adapter).toBe(join(dir, 'base.lora.gguf'));
    const written = await loadBitnetGguf(out);
    written.layers.forEach((l, i) => expect(Array.from(l.proj.q.values)).toEqual(Array.from(base.layers[i]?.proj.q.values ?? [])));
    const header = await readGgufHeader(report.adapter);
    const str = (key: string): unknown => (header.metadata.get(key) as { value: unknown } | undefined)?.value;
    expect([str('general.type'), str('adapter.type'), str('general.architecture'), str('adapter.lora.alpha')]).toEqual(['adapter', 'lora', 'bitnet', 16]);
    expect(header.tensors.map((t) => `${t.name} ${JSON.stringify(t.dims)}`).sort()).toEqual(
      [0, 1].flatMap((i) => [
        `blk.${i}.attn_q.weight.lora_a [256,8]`,
        `blk.${i}.attn_q.weight.lora_b [8,256]`,
        `blk.${i}.ffn_down.weight.lora_a [512,8]`,
        `blk.${i}.ffn_down.weight.lora_b [8,256]`,
      ]),
    );

    const prompt = 'ROMEO:';
    const ids = new ByteTokenizer().encode(prompt);
    const want = new BitnetRunner(adapted, 'bitnet').greedy(ids, 6);
    const withoutAdapter = new BitnetRunner(base, 'bitnet').greedy(ids, 6);
    expect(want).not.toEqual(withoutAdapter);
    const generate = async (args: string[]): Promise<number[]> => {
      const g = captureIo();
      expect(await runCli(['generate', ...args, '--prompt', prompt, '--max-tokens', '6', '--temperature', '0', '--json'], g)).toBe(0);
      return (JSON.parse(g.stdout.join('')) as { tokens: number[] }).tokens;
    };
    expect(await generate([join(dir, 'run')])).toEqual(want);
    expect(await generate([out])).toEqual(withoutAdapter);
    // the adapter GGUF in F16: the same greedy tokens here
    expect(await generate([out, '--lora', report.adapter])).toEqual(want);
  });

  it('--adapter merge: the ternary codes of the adapted projections change, the others do not', async () => {
    const io = captureIo();
    const out = join(dir, 'merged.gguf');
    expect(await runCli(['export', join(dir, 'run'), '--out', out, '--adapter', 'merge', '--json'], io)).toBe(0);
    const { merge } = JSON.parse(io.stdout.join('')) as { merge: { merged: number; changedCodes: number; codes: number } };
    expect(merge.merged).toBe(4);
    expect(merge.changedCodes).toBeGreaterThan(0);
    const written = await loadBitnetGguf(out);
    const changed = (p: 'q' | 'k'): number =>
      written.layers.reduce((n, l, i) => n + l.proj[p].values.filter((v, k) => v !== base.layers[i]?.proj[p].values[k]).length, 0);
    expect(changed('q')).toBeGreaterThan(0);
    expect(changed('k')).toBe(0);
    expect(written.layers.every((l) => l.lora === undefined)).toBe(true);
  });
});
