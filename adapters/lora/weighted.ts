import type { WeightedInput } from '../../src/adapter/types.js';
import { BitNetError } from '../../src/errors.js';
import type { SafetensorsInput } from '../../src/formats/safetensors/writer.js';
import type { LoraConfig } from './config.js';

export type LoraCombination = 'linear' | 'cat';

function scaling(c: LoraConfig): number {
  return c.useRslora ? c.loraAlpha / Math.sqrt(c.r) : c.loraAlpha / c.r;
}

/**
 * peft's add_weighted_adapter for LoRA, 'linear' and 'cat' (peft 0.21 tuners/lora/model.py):
 * with s_i = w_i · scaling_i, linear sums sign(s_i)·sqrt(|s_i|)·A_i and sqrt(|s_i|)·B_i (equal
 * ranks); cat stacks s_i·A_i and B_i (rank = the sum). The new adapter's alpha is its rank; its
 * other fields are the first adapter's (as peft's dataclass replace).
 */
export function combineLora(
  inputs: readonly WeightedInput<LoraConfig>[],
  combination: LoraCombination,
  paths: readonly string[],
): { config: LoraConfig; tensors: Record<string, SafetensorsInput> } {
  const first = (inputs[0] as WeightedInput<LoraConfig>).config;
  const ranks = inputs.map((i) => i.config.r);
  if (combination === 'linear' && ranks.some((r) => r !== first.r)) {
    throw new BitNetError('INVALID_ARGUMENT', `a linear combination needs one rank; the adapters have ${ranks.join(', ')}`, {
      field: 'combinationType',
      hint: "use 'cat' for adapters of different ranks",
    });
  }
  const rank = combination === 'linear' ? first.r : ranks.reduce((a, b) => a + b, 0);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const path of paths) {
    const key = (name: string): string => `base_model.model.${path}.${name}.weight`;
    const as = inputs.map((i) => i.file.float32(key('lora_A')));
    const bs = inputs.map((i) => i.file.float32(key('lora_B')));
    const inDim = (as[0] as Float32Array).length / (ranks[0] as number);
    const outDim = (bs[0] as Float32Array).length / (ranks[0] as number);
    const a = new Float32Array(rank * inDim);
    const b = new Float32Array(outDim * rank);
    let offset = 0;
    inputs.forEach((input, i) => {
      const s = input.weight * scaling(input.config);
      const r = input.config.r;
      const ai = as[i] as Float32Array;
      const bi = bs[i] as Float32Array;
      if (combination === 'linear') {
        const root = Math.sqrt(Math.abs(s));
        const wa = Math.fround(s >= 0 ? root : -root);
        const wb = Math.fround(root);
        ai.forEach((v, k) => (a[k] = Math.fround((a[k] as number) + Math.fround(wa * v))));
        bi.forEach((v, k) => (b[k] = Math.fround((b[k] as number) + Math.fround(wb * v))));
        return;
      }
      const sf = Math.fround(s);
      for (let k = 0; k < r * inDim; k++) a[offset * inDim + k] = Math.fround(sf * (ai[k] as number));
      for (let o = 0; o < outDim; o++) for (let j = 0; j < r; j++) b[o * rank + offset + j] = bi[o * r + j] as number;
      offset += r;
    });
    tensors[key('lora_A')] = { dtype: 'F32', shape: [rank, inDim], data: a };
    tensors[key('lora_B')] = { dtype: 'F32', shape: [outDim, rank], data: b };
  }
  return { config: { ...first, r: rank, loraAlpha: rank }, tensors };
}
