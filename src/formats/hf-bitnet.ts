import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BitNetError } from '../errors.js';
import { checkBitnetConfig, PROJECTIONS, projectionShape, type BitnetLmConfig, type Projection } from '../models/bitnet/config.js';
import { HF_CONFIG_KEYS, LAYER_NORMS, LAYER_TENSORS, tensorName, type LayerNorm } from '../models/bitnet/spec.js';
import { layerNorm, type BitnetLayerWeights, type BitnetLmWeights } from '../models/bitnet/weights.js';
import { hfPackedRows, packHfWeights, unpackHfWeights } from '../quant/pack.js';
import { quantizeWeights, TernaryWeight } from '../quant/weight.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { openCheckpoint, readHfConfig } from './hf-checkpoint.js';
import { serializeSafetensors, type SafetensorsInput } from './safetensors/writer.js';

/** transformers' BitLinear divides by weight_scale (stores 1/beta); AutoBitLinear multiplies (stores beta). */
export type HfLinearClass = 'bitlinear' | 'autobitlinear';

/** HF module names of the projections (the spec's table). */
export const HF_PROJECTION_NAMES = Object.fromEntries(PROJECTIONS.map((p) => [p, LAYER_TENSORS[p].hf])) as Record<Projection, string>;

interface HfConfig extends Record<string, unknown> {
  hidden_act?: string;
  quantization_config?: { quant_method?: string; linear_class?: string };
}

/**
 * Imports a HuggingFace BitNet checkpoint: packed uint8 projections (transformers' pack_weights)
 * with weight_scale in either convention, or float projections (ternarized here with absmean).
 */
export async function importHfBitnet(dir: string): Promise<BitnetLmWeights & { linearClass: HfLinearClass | 'float' }> {
  const hf = readHfConfig<HfConfig>(dir);
  if (hf.hidden_act !== undefined && hf.hidden_act !== 'silu' && hf.hidden_act !== 'relu2') {
    throw new BitNetError('UNSUPPORTED', `hidden_act '${hf.hidden_act}' is not supported (silu or relu2)`, { field: 'hidden_act' });
  }
  const read: Record<string, unknown> = {};
  for (const { field, key, fallback } of HF_CONFIG_KEYS) read[field] = hf[key] ?? fallback?.(read);
  const config = checkBitnetConfig(read as BitnetLmConfig);
  const quantized = hf.quantization_config?.quant_method === 'bitnet';
  const linearClass: HfLinearClass | 'float' = !quantized ? 'float' : hf.quantization_config?.linear_class === 'autobitlinear' ? 'autobitlinear' : 'bitlinear';
  const fileOf = await openCheckpoint(dir);
  const floats = (name: string): Float32Array => fileOf(name).float32(name);
  const layers: BitnetLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const proj = {} as Record<Projection, TernaryWeight>;
    for (const name of PROJECTIONS) {
      const shape = projectionShape(config, name);
      const key = `${tensorName('hf', name, i)}.weight`;
      if (linearClass === 'float') {
        proj[name] = quantizeWeights(floats(key), shape);
        continue;
      }
      const packed = fileOf(key).tensor(key);
      if (packed.dtype !== 'U8' || packed.shape[0] !== hfPackedRows(shape[0]) || packed.shape[1] !== shape[1]) {
        throw new BitNetError(
          'CORRUPT_FILE',
          `${key} is ${packed.dtype}${JSON.stringify(packed.shape)}; expected packed U8[${hfPackedRows(shape[0])},${shape[1]}]`,
          { field: key },
        );
      }
      const stored = floats(`${tensorName('hf', name, i)}.weight_scale`)[0] as number;
      const beta = Math.fround(linearClass === 'bitlinear' ? 1 / stored : stored);
      proj[name] = new TernaryWeight(unpackHfWeights(packed.bytes, shape), Float32Array.of(beta), shape, 'tensor');
    }
    const norms = Object.fromEntries(LAYER_NORMS.map((norm) => [norm, floats(`${tensorName('hf', norm, i)}.weight`)])) as Record<LayerNorm, Float32Array>;
    layers.push({ ...norms, proj });
  }
  return {
    config,
    tokenEmbedding: floats(`${tensorName('hf', 'tokenEmbedding')}.weight`),
    outputNorm: floats(`${tensorName('hf', 'outputNorm')}.weight`),
    layers,
    linearClass,
  };
}

/** Writes a HuggingFace BitNet checkpoint (config.json with quantization_config + packed model.safetensors). */
export async function exportHfBitnet(dir: string, w: BitnetLmWeights, linearClass: HfLinearClass = 'bitlinear'): Promise<void> {
  const c = w.config;
  const config = {
    architectures: ['BitNetForCausalLM'],
    model_type: 'bitnet',
    ...Object.fromEntries(HF_CONFIG_KEYS.map(({ field, key, fallback }) => [key, c[field] ?? fallback?.(c)])),
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    quantization_config: { quant_method: 'bitnet', linear_class: linearClass, quantization_mode: 'offline' },
  };
  const tensors: Record<string, SafetensorsInput> = {
    [`${tensorName('hf', 'tokenEmbedding')}.weight`]: { dtype: 'F32', shape: [c.vocabSize, c.hiddenSize], data: w.tokenEmbedding },
    [`${tensorName('hf', 'outputNorm')}.weight`]: { dtype: 'F32', shape: [c.hiddenSize], data: w.outputNorm },
  };
  w.layers.forEach((layer, i) => {
    for (const norm of LAYER_NORMS) {
      const gain = layerNorm(layer, norm, i);
      tensors[`${tensorName('hf', norm, i)}.weight`] = { dtype: 'F32', shape: [gain.length], data: gain };
    }
    for (const name of PROJECTIONS) {
      const t = layer.proj[name];
      const key = tensorName('hf', name, i);
      if (t.groupSize !== 'tensor') throw new BitNetError('UNSUPPORTED', `${key}: HF BitNet checkpoints hold one scale per tensor`, { field: 'groupSize' });
      const beta = t.scales[0] as number;
      tensors[`${key}.weight`] = { dtype: 'U8', shape: [hfPackedRows(t.shape[0]), t.shape[1]], data: packHfWeights(t.values, t.shape) };
      tensors[`${key}.weight_scale`] = { dtype: 'F32', shape: [1], data: Float32Array.of(linearClass === 'bitlinear' ? 1 / beta : beta) };
    }
  });
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
