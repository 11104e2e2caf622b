import * as tf from '@tensorflow/tfjs';
import { settings, type FusedPath } from '../../settings.js';

/** Whether a fused WGSL training path runs: on tfjs-webgpu, unless the `unfused` setting names it. */
export function useFused(path: FusedPath): boolean {
  return tf.getBackend() === 'webgpu' && !settings().unfused.includes(path);
}

interface AdapterInfo {
  device?: string;
  description?: string;
}

/**
 * Whether tfjs-webgpu runs on a CPU rasterizer (Mesa's llvmpipe or lavapipe, SwiftShader): the
 * adapter CI tests WGSL on. llvmpipe stops a loop once it has run some tens of thousands of
 * times in one invocation and leaves what it computed at zero, silently (measured: the fused
 * attention's dK at 350 positions of head size 64), so long-running kernels must not go there.
 */
export function softwareAdapter(): boolean {
  const info = (tf.backend() as unknown as { device?: { adapterInfo?: AdapterInfo } }).device?.adapterInfo;
  return /llvmpipe|lavapipe|softpipe|swiftshader/i.test(`${info?.device ?? ''} ${info?.description ?? ''}`);
}
