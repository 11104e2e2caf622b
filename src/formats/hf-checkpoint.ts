import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { readSafetensors, type SafetensorsFile } from './safetensors/reader.js';

/** Every tensor of a checkpoint folder: model.safetensors, or the shards of model.safetensors.index.json. */
export async function openCheckpoint(dir: string): Promise<(name: string) => SafetensorsFile> {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    const files = new Map<string, SafetensorsFile>();
    for (const shard of new Set(Object.values(map))) files.set(shard, await readSafetensors(join(dir, shard)));
    return (name) => {
      const shard = map[name];
      const file = shard === undefined ? undefined : files.get(shard);
      if (file === undefined) throw new BitNetError('CORRUPT_FILE', `the checkpoint has no tensor '${name}'`, { field: name });
      return file;
    };
  }
  if (!existsSync(join(dir, 'model.safetensors'))) {
    throw new BitNetError('FILE_NOT_FOUND', `${dir} has no weights (model.safetensors or model.safetensors.index.json)`, {
      field: 'model.safetensors',
      hint: 'a HuggingFace folder saved with safe_serialization (PyTorch .bin files are not read)',
    });
  }
  const single = await readSafetensors(join(dir, 'model.safetensors'));
  return () => single;
}

/** config.json of a HuggingFace checkpoint folder. */
export function readHfConfig<T extends object = Record<string, unknown>>(dir: string): T {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as T;
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `no readable config.json in ${dir}`, {
      field: 'config.json',
      cause,
      hint: 'point at a HuggingFace checkpoint folder',
    });
  }
}
