import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { exportGguf } from '../../src/formats/gguf/model-export.js';
import { halfToFloat, floatToHalf } from '../../src/util/half.js';
import { readGgufHeader, readGgufTensor } from '../../src/formats/gguf/reader.js';
import { saveModel } from '../../src/formats/tfjs-fs.js';
import { buildMlp } from '../../src/models/mlp.js';
import { bitLinear, type BitLinear } from '../../src/nn/bit-linear.js';
import { tf, useBackend } from '../helpers/tf.js';

const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'bitnet-export-'));

describe('GGUF export', () => {
  beforeAll(() => useBackend('cpu'));

  it('writes ternary layers as TQ2_0 with d = beta; other tensors as F16/F32; decodes back to q * beta', async () => {
    const model = buildMlp({ inputSize: 512, hidden: [256], outputs: 10, layer: 'bitlinear', seed: 2, bitnet: { useRmsNorm: false } });
    model.predict(tf.zeros([1, 512]));
    const path = join(await tmp(), 'm.gguf');
    const warnings: string[] = [];
    const report = await exportGguf(model, path, { type: 'tq2_0', warn: (m) => warnings.push(m) });
    expect(report.tensors.map((t) => `${t.name}:${t.type}`)).toEqual(['fc1.weight:TQ2_0', 'fc1.bias:F32', 'head.weight:TQ2_0', 'head.bias:F32']);
    expect(warnings).toEqual([]);
    const h = await readGgufHeader(path);
    expect(h.metadata.get('general.file_type')).toEqual({ type: 'u32', value: 37 });
    const fc1 = model.getLayer('fc1') as BitLinear;
    const t = fc1.ternaryWeight();
    const d = halfToFloat(floatToHalf(t.scales[0] as number));
    const info = h.tensors.find((x) => x.name === 'fc1.weight');
    expect(info?.dims).toEqual([512, 256]);
    expect(await readGgufTensor(path, info!)).toEqual(Float32Array.from(t.values, (q) => Math.fround(q * d)));
  });

  it('falls back to F16 (with a warning) for rows that are not whole blocks; --scale-tensors keeps beta exact', async () => {
    const model = buildMlp({ inputSize: 300, hidden: [256], outputs: 10, layer: 'bitlinear', seed: 3, bitnet: { useRmsNorm: false } });
    const path = join(await tmp(), 'f.gguf');
    const warnings: string[] = [];
    const report = await exportGguf(model, path, { type: 'tq1_0', scaleTensors: true, warn: (m) => warnings.push(m) });
    expect(report.fallbacks).toEqual(['fc1']);
    expect(warnings[0]).toMatch(/fc1: written as F16.*300 are not a multiple of 256/);
    expect(report.tensors.map((t) => `${t.name}:${t.type}`)).toEqual([
      'fc1.weight:F16',
      'fc1.bias:F32',
      'head.weight:TQ1_0',
      'head.scale:F32',
      'head.bias:F32',
    ]);
    const h = await readGgufHeader(path);
    const head = model.getLayer('head') as BitLinear;
    const scale = await readGgufTensor(
      path,
      h.tensors.find((x) => x.name === 'head.scale')!,
    );
    expect(scale[0]).toBe(head.ternaryWeight().scales[0]);
    expect(
      await readGgufTensor(
        path,
        h.tensors.find((x) => x.name === 'head.weight')!,
      ),
    ).toEqual(Float32Array.from(head.ternaryWeight().values));
  });

  it('a 2560x6912 ternary layer takes <= 2.07 bits/weight in TQ2_0 and <= 1.70 in TQ1_0 (bitnet inspect)', async () => {
    const input = tf.input({ shape: [2560] });
    const model = tf.model({ inputs: input, outputs: bitLinear({ units: 6912, name: 'ffn_up', useRmsNorm: false }).apply(input) as tf.SymbolicTensor });
    const dir = await tmp();
    await saveModel(model, join(dir, 'model'));
    for (const [type, limit] of [
      ['tq2_0', 2.07],
      ['tq1_0', 1.7],
    ] as const) {
      const out = join(dir, `${type}.gguf`);
      expect(await runCli(['export', join(dir, 'model'), '--type', type, '--out', out], captureIo())).toBe(0);
      const io = captureIo();
      expect(await runCli(['inspect', out, '--json'], io)).toBe(0);
      const info = JSON.parse(io.stdout.join('')) as { tensors: { name: string; bitsPerWeight: number }[] };
      const bits = info.tensors.find((t) => t.name === 'ffn_up.weight')?.bitsPerWeight as number;
      expect(bits).toBeLessThanOrEqual(limit);
      const text = captureIo();
      await runCli(['inspect', out], text);
      expect(text.stdout.join('\n')).toMatch(new RegExp(`ffn_up.weight\\s+${type.toUpperCase()}\\s+\\[2560,6912\\]\\s+\\d+\\s+${bits.toFixed(3)}`));
    }
  }, 60_000);
});
