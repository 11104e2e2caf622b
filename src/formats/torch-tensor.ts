import type { SafetensorsInput } from './safetensors/writer.js';
import { kernelToTorch } from '../nn/layout.js';
import type { LayerVariable } from '../nn/tfjs-types.js';
import { weightShortName } from '../nn/weights.js';

/** A weight's value as a float32 safetensors tensor in PyTorch layout (2-D kernels transposed). */
export function torchTensor(w: LayerVariable): SafetensorsInput {
  const value = w.read();
  if (value.dtype === 'int32') return { dtype: 'I32', shape: [...value.shape], data: Int32Array.from(value.dataSync()) };
  const data = value.dataSync() as Float32Array;
  if (weightShortName(w) === 'kernel' && value.rank === 2) {
    const [inDim, outDim] = value.shape as [number, number];
    return { dtype: 'F32', shape: [outDim, inDim], data: kernelToTorch(data, inDim, outDim) };
  }
  return { dtype: 'F32', shape: [...value.shape], data: Float32Array.from(data) };
}
