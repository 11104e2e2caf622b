import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { readGolden } from '../helpers/golden.js';
import { useBackend } from '../helpers/tf.js';
import { denseMlp } from './models.js';

interface PeftGolden {
  config: Record<string, unknown>;
  tensors: Record<string, { dtype: string; shape: number[] }>;
  metadata: Record<string, string>;
}

const golden = readGolden<PeftGolden>('peft-lora.json');
const DTYPES: Record<string, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

describe('a LoRA adapter saved here has the file-level contract of HuggingFace peft', () => {
  beforeAll(() => useBackend('cpu'));

  it('same tensor names, dtypes, shapes and metadata; config fields peft knows, with its values', async () => {
    const peft = getPeftModel(denseMlp(), { peftType: 'LORA', targetModules: ['fc1', 'fc2'], r: 4, loraAlpha: 8, modulesToSave: ['head'] });
    const dir = join(await mkdtemp(join(tmpdir(), 'bitnet-peft-')), 'a');
    await peft.save(dir);

    const file = await readSafetensors(join(dir, 'adapter_model.safetensors'));
    const ours = Object.fromEntries(file.header.tensors.map((t) => [t.name, { dtype: DTYPES[t.dtype] ?? t.dtype, shape: t.shape }]));
    expect(ours).toEqual(golden.tensors);
    expect(file.metadata).toEqual(golden.metadata);

    const text = await readFile(join(dir, 'adapter_config.json'), 'utf8');
    const config = JSON.parse(text) as Record<string, unknown>;
    expect(text).toBe(`${JSON.stringify(config, Object.keys(config).sort(), 2)}\n`);
    for (const key of Object.keys(config)) expect(Object.keys(golden.config), `peft knows '${key}'`).toContain(key);
    const comparable = (c: Record<string, unknown>): Record<string, unknown> => ({
      ...Object.fromEntries(Object.keys(config).map((k) => [k, c[k]])),
      target_modules: [...(c.target_modules as string[])].sort(),
    });
    expect(comparable(config)).toEqual(comparable(golden.config));
  });
});
