import * as tf from '@tensorflow/tfjs';
import type { KernelTierName } from './select.js';

/** How BitLinear computes in inference mode: 'auto' = packed kernels on the cpu and wasm backends. */
export type InferenceEngine = 'auto' | 'tfjs' | 'kernels';

let engine: InferenceEngine = (process.env.BITNET_INFERENCE as InferenceEngine | undefined) ?? 'auto';
let tier: KernelTierName | 'auto' = 'auto';

export function setInferenceEngine(next: InferenceEngine, kernelTier: KernelTierName | 'auto' = 'auto'): void {
  engine = next;
  tier = kernelTier;
}

export function inferenceEngine(): { engine: InferenceEngine; tier: KernelTierName | 'auto' } {
  return { engine, tier };
}

/** Whether BitLinear should run its inference matmul on the WGSL kernels now (the webgpu backend). */
export function useGpuKernels(): boolean {
  return engine !== 'tfjs' && tf.getBackend() === 'webgpu';
}

/** Whether BitLinear should run its inference matmul on the packed kernels now. */
export function useKernels(): boolean {
  if (engine === 'tfjs') return false;
  if (engine === 'kernels') return true;
  const backend = tf.getBackend();
  return backend === 'cpu' || backend === 'wasm';
}
