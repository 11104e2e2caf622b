import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { confinedFile } from '../util/confined-path.js';
import { readSafetensors, type SafetensorsFile } from './safetensors/reader.js';
import { readJsonFile } from '../util/json-file.js';

/** Every tensor of a checkpoint folder: model.safetensors, or the shards of model.safetensors.index.json. */
export async function openCheckpoint(dir: string): Promise<(name: string) => SafetensorsFile> {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const parsed = readJsonFile(index);
    const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      throw new BitNetError('CORRUPT_FILE', `${index}: weight_map must map tensor names to shard files`, { field: 'weight_map' });
    }
    const shards = map as Record<string, string>;
    const files = new Map<string, SafetensorsFile>();
    for (const shard of new Set(Object.values(shards))) files.set(shard, await readSafetensors(confinedFile(dir, shard, `weight_map (${shard})`)));
    return (name) => {
      const shard = Object.hasOwn(shards, name) ? shards[name] : undefined;
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
  let json: unknown;
  try {
    json = readJsonFile(join(dir, 'config.json'));
  } catch (cause) {
    if (cause instanceof BitNetError && cause.code === 'FILE_NOT_FOUND') {
      throw new BitNetError('FILE_NOT_FOUND', `no config.json in ${dir}`, { field: 'config.json', cause, hint: 'point at a HuggingFace checkpoint folder' });
    }
    throw cause;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BitNetError('INVALID_CONFIG', `${join(dir, 'config.json')} must hold a JSON object`, { field: 'config.json' });
  }
  return json as T;
}
