import type * as tf from '@tensorflow/tfjs';
import { modelLayers } from '../../nn/model-layers.js';
import { BitNetError } from '../../errors.js';
import { encodeGgml, encodeTernaryBlocks, type GgmlTypeName } from './ggml-types.js';
import { gguf, type GgufValue } from './values.js';
import { writeGguf, type GgufTensorSpec } from './writer.js';
import { BitLinear } from '../../nn/bit-linear.js';
import { kernelToTorch } from '../../nn/layout.js';
import { weightShortName } from '../../nn/weights.js';

export const GGUF_EXPORT_TYPES = ['tq2_0', 'tq1_0', 'f16', 'f32'] as const;
export type GgufExportType = (typeof GGUF_EXPORT_TYPES)[number];

/** llama.cpp's general.file_type for each export type. */
const FILE_TYPES: Record<GgufExportType, number> = { f32: 0, f16: 1, tq1_0: 36, tq2_0: 37 };

export interface GgufExportOptions {
  type: GgufExportType;
  /** Ternary blocks with d = 1 and the exact f32 beta in a `<name>.scale` tensor (llama.cpp's optional scales). */
  scaleTensors?: boolean;
  name?: string;
  /** Called for each layer written as floats instead (the report's `fallbacks` lists them too). */
  warn?: (message: string) => void;
}

export interface GgufExportReport {
  path: string;
  tensors: { name: string; type: GgmlTypeName; dims: number[] }[];
  fallbacks: string[];
}

/**
 * A faithful tensor dump of a (merged or latent) model in GGUF: BitLinear weights as TQ2_0/TQ1_0
 * blocks (d = beta), or F16 where a row is not whole 256-blocks or scales are finer than a block
 * (with a warning, as llama.cpp's converter falls back); other matrices F16 (or F32), vectors F32.
 * The model topology goes into `bitnet_quantize.topology` so the file describes itself.
 */
export async function exportGguf(model: tf.LayersModel, path: string, options: GgufExportOptions): Promise<GgufExportReport> {
  const warn = options.warn ?? ((): void => {});
  const ternaryType: GgmlTypeName | undefined = options.type === 'tq2_0' ? 'TQ2_0' : options.type === 'tq1_0' ? 'TQ1_0' : undefined;
  const floatType: GgmlTypeName = options.type === 'f32' ? 'F32' : 'F16';
  const tensors: GgufTensorSpec[] = [];
  const fallbacks: string[] = [];
  for (const { path: layerPath, layer } of modelLayers(model)) {
    if (layer instanceof BitLinear) {
      const ternary = layer.ternaryWeight();
      const [out, inF] = ternary.shape;
      const perBlock = ternary.groupSize === 'tensor' || ternary.groupSize % 256 === 0;
      if (ternaryType !== undefined && inF % 256 === 0 && perBlock) {
        const useScale = options.scaleTensors === true && ternary.groupSize === 'tensor';
        tensors.push({
          name: `${layerPath}.weight`,
          dims: [inF, out],
          type: ternaryType,
          data: () => {
            if (ternary.groupSize === 'tensor') return encodeTernaryBlocks(ternaryType, ternary.values, useScale ? 1 : (ternary.scales[0] as number));
            // one d per block: the beta of the group the block lies in
            const blocks = new Uint8Array((ternary.values.length / 256) * (ternaryType === 'TQ2_0' ? 66 : 54));
            const per = ternary.groupSize;
            for (let b = 0; b < ternary.values.length / 256; b++) {
              const part = encodeTernaryBlocks(
                ternaryType,
                ternary.values.subarray(b * 256, (b + 1) * 256),
                ternary.scales[Math.floor((b * 256) / per)] as number,
              );
              blocks.set(part, b * part.length);
            }
            return blocks;
          },
        });
        if (useScale)
          tensors.push({ name: `${layerPath}.scale`, dims: [1], type: 'F32', data: () => encodeGgml('F32', Float32Array.of(ternary.scales[0] as number)) });
      } else {
        if (ternaryType !== undefined) {
          const why =
            inF % 256 !== 0 ? `its rows of ${inF} are not a multiple of 256` : `its group size ${String(ternary.groupSize)} is finer than a 256-weight block`;
          warn(`${layerPath}: written as ${floatType} (dequantized), since ${why}`);
          fallbacks.push(layerPath);
        }
        tensors.push({ name: `${layerPath}.weight`, dims: [inF, out], type: floatType, data: () => encodeGgml(floatType, ternary.dequantize()) });
      }
    }
    for (const w of layer.weights) {
      const short = weightShortName(w);
      if (layer instanceof BitLinear && (short === 'kernel' || short === 'qkernel' || short === 'qcodes' || short === 'scales')) continue;
      const value = w.read();
      const name = `${layerPath}.${short === 'kernel' ? 'weight' : short === 'norm_gamma' ? 'rms_norm.weight' : short}`;
      if (value.rank === 2) {
        const [inF, out] = value.shape as [number, number];
        tensors.push({ name, dims: [inF, out], type: floatType, data: () => encodeGgml(floatType, kernelToTorch(value.dataSync() as Float32Array, inF, out)) });
      } else {
        tensors.push({ name, dims: [...value.shape].reverse(), type: 'F32', data: () => encodeGgml('F32', value.dataSync() as Float32Array) });
      }
    }
  }
  if (tensors.length === 0) throw new BitNetError('INVALID_ARGUMENT', 'the model has no weights to export', { field: 'model' });
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str('bitnet-quantize')],
    ['general.name', gguf.str(options.name ?? model.name)],
    ['general.file_type', gguf.u32(FILE_TYPES[options.type])],
    ['general.quantization_version', gguf.u32(2)],
    ['bitnet_quantize.topology', gguf.str(JSON.stringify(model.toJSON(undefined, false)))],
  ];
  await writeGguf(path, { metadata, tensors });
  return { path, tensors: tensors.map(({ name, type, dims }) => ({ name, type, dims })), fallbacks };
}
