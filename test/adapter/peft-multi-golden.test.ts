// Issue #17 against HuggingFace peft 0.21 (test/golden/peft-multi, made by
// scripts/golden/make_peft_multi_golden.py): a multi-adapter save_pretrained folder (the default
// adapter at the top, five others in subfolders: LoRA of other targets and ranks with
// modules_to_save, DoRA, and two add_weighted_adapter results) loads here and each adapter gives
// peft's outputs; our own addWeightedAdapter gives peft's combinations; disableAdapter gives
// peft's disable_adapter; and what we save back holds peft's tensors, so peft loads it
// (scripts/interop/peft_multi_check.py checks that with peft itself).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { loadPeftModel } from '../../src/adapter/peft.js';
import type { PeftModel } from '../../src/adapter/peft-model.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { torchToKernel } from '../../src/nn/layout.js';
import { setWeightsByName } from '../../src/nn/weights.js';
import { tf, useBackend } from '../helpers/tf.js';
import { denseMlp } from './models.js';

const DIR = fileURLToPath(new URL('../golden/peft-multi/', import.meta.url));
const ADAPTERS = join(DIR, 'adapters');
const OTHERS = ['second', 'third', 'dora', 'cat_mix', 'lin_mix'];

interface Golden {
  x: number[];
  outputs: Record<string, number[]>;
}

function relative(got: Float32Array, want: readonly number[]): number {
  const scale = Math.max(...want.map(Math.abs));
  return want.reduce((m, w, i) => Math.max(m, Math.abs(w - (got[i] as number))), 0) / scale;
}

describe('peft multi-adapter saves and DoRA, against peft 0.21', () => {
  let golden: Golden;
  let base: tf.LayersModel;
  let x: tf.Tensor2D;
  let peft: PeftModel;
  const outputs = (): Float32Array => tf.tidy(() => (peft.model.predict(x) as tf.Tensor).dataSync() as Float32Array);

  beforeAll(async () => {
    await useBackend('cpu');
    golden = JSON.parse(await readFile(join(DIR, 'io.json'), 'utf8')) as Golden;
    base = denseMlp();
    const file = await readSafetensors(join(DIR, 'base.safetensors'));
    for (const name of ['fc1', 'fc2', 'head']) {
      const [out, inF] = file.tensor(`${name}.weight`).shape as [number, number];
      const kernel = tf.tensor2d(torchToKernel(file.float32(`${name}.weight`), out, inF), [inF, out]);
      const bias = tf.tensor1d(file.float32(`${name}.bias`));
      setWeightsByName(base.getLayer(name), { kernel, bias });
      tf.dispose([kernel, bias]);
    }
    x = tf.tensor2d(golden.x, [golden.x.length / 12, 12]);
    peft = await loadPeftModel(base, ADAPTERS);
    for (const name of OTHERS) await peft.loadAdapter(join(ADAPTERS, name), name);
  });

  it("every adapter gives peft's outputs (DoRA included), and disableAdapter peft's base", () => {
    expect(peft.adapterNames).toEqual(['default', ...OTHERS]);
    expect(peft.adapterConfig('dora')).toMatchObject({ useDora: true, r: 4 });
    for (const name of ['default', ...OTHERS]) {
      peft.setAdapter(name);
      expect(relative(outputs(), golden.outputs[name] as number[]), name).toBeLessThan(1e-5);
    }
    peft.setAdapter('second');
    peft.disableAdapter();
    expect(relative(outputs(), golden.outputs.base as number[])).toBeLessThan(1e-6);
    peft.enable();
  });

  it("addWeightedAdapter here equals peft's cat and linear combinations", () => {
    peft.setAdapter('default');
    peft.addWeightedAdapter(['default', 'third'], [0.5, 2], 'our_cat', 'cat');
    peft.addWeightedAdapter(['default', 'third'], [0.5, 2], 'our_lin', 'linear');
    for (const [ours, theirs] of [
      ['our_cat', 'cat_mix'],
      ['our_lin', 'lin_mix'],
    ] as const) {
      peft.setAdapter(ours);
      expect(relative(outputs(), golden.outputs[theirs] as number[]), ours).toBeLessThan(1e-5);
    }
    peft.deleteAdapter('our_cat');
    peft.deleteAdapter('our_lin');
  });

  it("saves back peft's layout and tensors (so peft loads it)", async () => {
    peft.setAdapter('default');
    const out = await mkdtemp(join(tmpdir(), 'bitnet-peft-multi-'));
    await peft.save(out);
    for (const name of ['', ...OTHERS]) {
      const theirs = await readSafetensors(join(ADAPTERS, name, 'adapter_model.safetensors'));
      const ours = await readSafetensors(join(out, name, 'adapter_model.safetensors'));
      expect(ours.names.sort(), name).toEqual(theirs.names.sort());
      for (const t of theirs.names) {
        expect(ours.tensor(t).shape, `${name} ${t}`).toEqual(theirs.tensor(t).shape);
        const a = ours.float32(t);
        const b = theirs.float32(t);
        expect(
          a.every((v, i) => Math.abs(v - (b[i] as number)) <= 1e-6 * Math.max(1, Math.abs(b[i] as number))),
          `${name} ${t}`,
        ).toBe(true);
      }
      const config = JSON.parse(await readFile(join(out, name, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      const peftConfig = JSON.parse(await readFile(join(ADAPTERS, name, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      // peft writes target_modules from a set, in no fixed order
      const sorted = (v: unknown): unknown => (Array.isArray(v) ? [...(v as string[])].sort() : v);
      for (const key of ['peft_type', 'r', 'lora_alpha', 'use_dora', 'use_rslora', 'target_modules', 'modules_to_save']) {
        expect(sorted(config[key]), `${name} ${key}`).toEqual(sorted(peftConfig[key]));
      }
    }
  });
});
