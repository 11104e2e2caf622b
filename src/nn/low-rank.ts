import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';
import { kernelToTorch } from './layout.js';
import { weightsByName } from './weights.js';

/**
 * An unmerged low-rank update of a linear layer: y += (alpha / rank) · B (A x), in PEFT's and
 * llama.cpp's layout: `a` is lora_A.weight [rank, in], `b` is lora_B.weight [out, rank] (row-major).
 * `alpha` is llama.cpp's (adapter.lora.alpha): the scaling times the rank, also for rsLoRA.
 */
export interface LowRankDelta {
  a: Float32Array;
  b: Float32Array;
  rank: number;
  alpha: number;
}

/** What a consumer reads of a layer wrapped by an unmerged low-rank adapter (adapters/lora's LoraLinear). */
interface LowRankAdapted {
  readonly base: tf.layers.Layer;
  readonly loraEnabled: boolean;
  readonly scaling: number;
  readonly r: number;
  readonly useDora?: boolean;
}

function lowRankAdapted(layer: tf.layers.Layer): LowRankAdapted | undefined {
  return layer.getClassName() === 'LoraLinear' ? (layer as unknown as LowRankAdapted) : undefined;
}

/**
 * A linear layer as its consumers (exporters, runners) must see it: the base layer that holds the
 * weights, and the adapter's update when an enabled one wraps it (undefined for a plain layer).
 */
export function linearWithDelta(layer: tf.layers.Layer): { base: tf.layers.Layer; delta: LowRankDelta | undefined } {
  const adapted = lowRankAdapted(layer);
  if (adapted === undefined) return { base: layer, delta: undefined };
  if (!adapted.loraEnabled) return { base: adapted.base, delta: undefined };
  if (adapted.useDora === true) {
    throw new BitNetError('UNSUPPORTED', `${layer.name}: a DoRA adapter scales each output, which a low-rank file (llama.cpp's LoRA GGUF) cannot hold`, {
      field: 'useDora',
      hint: 'merge it into the weights first (peft.merge()), or save it in the peft layout (peft.save())',
    });
  }
  const w = weightsByName(layer);
  const a = w.lora_A as tf.Tensor2D;
  const b = w.lora_B as tf.Tensor2D;
  const [inDim, rank] = a.shape;
  const outDim = b.shape[1];
  return {
    base: adapted.base,
    delta: {
      a: kernelToTorch(a.dataSync() as Float32Array, inDim, rank),
      b: kernelToTorch(b.dataSync() as Float32Array, rank, outDim),
      rank,
      alpha: Math.fround(adapted.scaling * rank),
    },
  };
}
