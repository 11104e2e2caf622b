import * as tf from '@tensorflow/tfjs';
import type { AdapterMethod } from '../../src/adapter/types.js';
import { layerStateDict, loadLayerStateDict } from '../../src/adapter/torch-names.js';
import { type BitLinear } from '../../src/nn/bit-linear.js';
import { torchToKernel } from '../../src/nn/layout.js';
import { setWeightsByName, weightsByName } from '../../src/nn/weights.js';
import { BITNET_PEFT_TYPE, BitNetAdapterConfigSchema, bitnetFromPeftJson, bitnetToPeftJson, type BitNetAdapterConfig } from './config.js';

function quantArgs(c: BitNetAdapterConfig): Record<string, unknown> {
  return {
    groupSize: c.groupSize,
    activationBits: c.activationBits,
    activationScope: c.activationScope,
    eps: c.eps,
    useRmsNorm: c.useRmsNorm,
    rmsNormEps: c.rmsNormEps,
    quantLambda: c.quantLambda,
  };
}

/** BitNet QAT: Dense layers become BitLinear initialised from their weights; all of their weights train. */
export const bitnetMethod: AdapterMethod<BitNetAdapterConfig> = {
  peftType: BITNET_PEFT_TYPE,
  schema: BitNetAdapterConfigSchema,

  // Dense layers, and full-precision BitLinear ones (a twin becomes quantized); a quantized BitLinear
  // already is BitNet, and a disabled adapter there could not give the base's own quantization back
  supports: (className, layer) => className === 'Dense' || (className === 'BitLinear' && (layer === undefined || (layer as BitLinear).fullPrecision)),

  adaptedEntry(layer, config) {
    const dense = layer.getConfig();
    return {
      className: 'BitLinear',
      config: { units: dense.units, useBias: dense.useBias, activation: dense.activation, ...quantArgs(config) } as tf.serialization.ConfigDict,
    };
  },

  initialize(adapted, original) {
    const source = weightsByName(original);
    const kernel = source.kernel as tf.Tensor;
    const values: Record<string, tf.Tensor> = { kernel };
    if (source.bias !== undefined) values.bias = source.bias;
    const needsGamma = adapted.weights.some((w) => w.originalName.endsWith('norm_gamma'));
    const gamma = needsGamma && source.norm_gamma === undefined ? tf.ones([kernel.shape[0]]) : undefined;
    if (needsGamma) values.norm_gamma = gamma ?? (source.norm_gamma as tf.Tensor);
    setWeightsByName(adapted, values);
    gamma?.dispose();
  },

  isAdapterWeight: () => true,

  setEnabled(layer, enabled) {
    (layer as BitLinear).quantEnabled = enabled;
  },

  merge(layer) {
    const bit = layer as BitLinear;
    const ternary = bit.ternaryWeight();
    const [outDim, inDim] = ternary.shape;
    const values = weightsByName(bit);
    const weights: Record<string, tf.Tensor> = {
      qkernel: tf.tensor2d(torchToKernel(Float32Array.from(ternary.values), outDim, inDim), [inDim, outDim]),
      scales: tf.tensor1d(ternary.scales),
    };
    if (values.bias !== undefined) weights.bias = tf.clone(values.bias);
    if (values.norm_gamma !== undefined) weights.norm_gamma = tf.clone(values.norm_gamma);
    const config = { ...bit.getConfig(), merged: true, inference: true };
    return { entry: { className: 'BitLinear', config }, weights, requantized: false };
  },

  stateDict: (layer) => layerStateDict(layer, ''),

  loadStateDict(layer, file, prefix) {
    loadLayerStateDict(layer, file, prefix);
  },

  toPeftJson: bitnetToPeftJson,
  fromPeftJson: bitnetFromPeftJson,
};
