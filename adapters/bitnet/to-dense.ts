import * as tf from '@tensorflow/tfjs';
import { rebuildModel, type LayerEntry } from '../../src/adapter/topology.js';
import { modelLayers } from '../../src/nn/model-layers.js';
import { BitNetError } from '../../src/errors.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { torchToKernel } from '../../src/nn/layout.js';
import { setWeightsByName, weightsByName } from '../../src/nn/weights.js';

/**
 * A plain tfjs model (no custom layers) whose Dense kernels hold the dequantized ternary weights
 * q * beta of every BitLinear. It drops activation quantization, so its outputs approximate the
 * BitNet model's; a model with RMSNorm inside BitLinear (sub-LN) cannot be expressed this way.
 */
export function toDenseModel(model: tf.LayersModel): tf.LayersModel {
  const replace = new Map<string, LayerEntry>();
  for (const { path, layer } of modelLayers(model)) {
    if (!(layer instanceof BitLinear)) continue;
    if (layer.quant.useRmsNorm) {
      throw new BitNetError('UNSUPPORTED', `${path}: BitLinear with RMSNorm has no plain Dense equivalent`, {
        hint: 'inject BitNet with useRmsNorm: false to export with toDense()',
      });
    }
    replace.set(path, { className: 'Dense', config: { units: layer.units, useBias: layer.useBias, activation: layer.activation } });
  }
  return rebuildModel(model, replace, (path, dense) => {
    const bit = modelLayers(model).find((l) => l.path === path)?.layer as BitLinear;
    const ternary = bit.ternaryWeight();
    const [outDim, inDim] = ternary.shape;
    const kernel = tf.tensor2d(torchToKernel(ternary.dequantize(), outDim, inDim), [inDim, outDim]);
    const values: Record<string, tf.Tensor> = { kernel };
    const bias = weightsByName(bit).bias;
    if (bias !== undefined) values.bias = bias;
    setWeightsByName(dense, values);
    kernel.dispose();
  });
}
