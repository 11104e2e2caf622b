import * as tf from '@tensorflow/tfjs';
import { packTernary2 } from '../quant/pack.js';
import type { TernaryWeight } from '../quant/weight.js';
import type { GpuDevice } from '../kernels/webgpu/device.js';
import { WebGpuTernary, type GpuTernaryLinear } from '../kernels/webgpu/ternary-wgsl.js';

const kernelsByDevice = new WeakMap<object, WebGpuTernary>();

interface WebGpuBackendLike {
  device: GpuDevice;
}

/** The WGSL kernels on tfjs-webgpu's own device. */
function kernelsOfBackend(): WebGpuTernary {
  const { device } = tf.backend() as unknown as WebGpuBackendLike;
  let kernels = kernelsByDevice.get(device);
  if (kernels === undefined) {
    kernels = new WebGpuTernary(device);
    kernelsByDevice.set(device, kernels);
  }
  return kernels;
}

/** Packed weights of a BitLinear uploaded to the webgpu backend's device, once. */
export function uploadTernaryToBackend(ternary: TernaryWeight, opts: { activationBits: number; eps: number }): GpuTernaryLinear {
  const [rows, inFeatures] = ternary.shape;
  return kernelsOfBackend().uploadLinear(packTernary2(ternary.values, ternary.shape), rows, inFeatures, ternary.scales[0] as number, opts);
}

type KernelBuffer = Parameters<WebGpuTernary['linear']>[1];

/** Runs fn on x's GPU buffer; a tensor whose values still sit on the CPU (never used on the GPU) is uploaded. */
function onGpu<T>(x: tf.Tensor, kernels: WebGpuTernary, fn: (buffer: KernelBuffer) => T): T {
  let gpu: { buffer: GPUBuffer; tensorRef: tf.Tensor } | undefined;
  try {
    const data = x.dataToGPU();
    if (data.buffer !== undefined) gpu = { buffer: data.buffer, tensorRef: data.tensorRef };
  } catch {
    // tfjs-webgpu: "Data is not on GPU but on CPU", so a synchronous read is free
  }
  if (gpu !== undefined) {
    try {
      return fn(gpu.buffer);
    } finally {
      gpu.tensorRef.dispose();
    }
  }
  const uploaded = kernels.uploadFloats(x.dataSync() as Float32Array);
  try {
    return fn(uploaded);
  } finally {
    uploaded.destroy();
  }
}

/**
 * BitLinear's integer inference on tfjs-webgpu without leaving the GPU: x's buffer is quantized
 * per token and multiplied by the packed ternary weights by the WGSL kernels, and the float32
 * result becomes a tfjs tensor (tfjs copies it into its own buffer and submits at once).
 */
export function webGpuTernaryMatMul(x: tf.Tensor2D, weights: GpuTernaryLinear): tf.Tensor2D {
  const kernels = kernelsOfBackend();
  const [n] = x.shape;
  const out = onGpu(x, kernels, (buffer) => kernels.linear(weights, buffer, n));
  const y = tf.tensor<tf.Rank.R2>({ buffer: out as unknown as GPUBuffer }, [n, weights.rows], 'float32');
  out.destroy();
  return y;
}
