import type { KernelTier } from '../types.js';
import { openWebGpuDevice } from './device.js';
import { WebGpuTernary } from './ternary-wgsl.js';

/** The webgpu tier: the WGSL kernels on a device of the process's Dawn instance (asynchronous, so no CPU capabilities). */
export interface WebGpuTier extends KernelTier {
  readonly name: 'webgpu';
  readonly kernels: WebGpuTernary;
}

let opening: Promise<{ tier: WebGpuTier } | { tier: null; reason: string }> | undefined;
let opened: WebGpuTier | null = null;

/** Opens the webgpu tier once (a device and its pipelines); null with the reason when there is no adapter. */
export async function openWebGpuTier(): Promise<{ tier: WebGpuTier } | { tier: null; reason: string }> {
  opening ??= openWebGpuDevice().then((d) => {
    if (d.device === null) return { tier: null, reason: d.reason };
    opened = { name: 'webgpu', detail: d.adapter, kernels: new WebGpuTernary(d.device) };
    return { tier: opened };
  });
  return opening;
}

/** The webgpu tier when openWebGpuTier() has opened it, else null. */
export function openedWebGpuTier(): WebGpuTier | null {
  return opened;
}
