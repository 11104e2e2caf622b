import * as tf from '@tensorflow/tfjs';
import { BitLinear } from './bit-linear.js';
import { CausalAttention } from './causal-attention.js';
import { RMSNorm } from './rms-norm.js';
import { SwiGlu } from './swiglu.js';
import { TiedEmbedding } from './tied-embedding.js';

/** The serialization namespace of this package's layers in model.json (`BitNet>BitLinear`). */
export const LAYER_PACKAGE = 'BitNet';

let registered = false;

/** Registers the package's layers for tf.loadLayersModel; idempotent. The only module with this side effect. */
export function registerLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(BitLinear, LAYER_PACKAGE);
  tf.serialization.registerClass(RMSNorm, LAYER_PACKAGE);
  tf.serialization.registerClass(TiedEmbedding, LAYER_PACKAGE);
  tf.serialization.registerClass(CausalAttention, LAYER_PACKAGE);
  tf.serialization.registerClass(SwiGlu, LAYER_PACKAGE);
  registered = true;
}

registerLayers();
