import * as tf from '@tensorflow/tfjs';
import { settings, type FusedPath } from '../../settings.js';

/** Whether a fused WGSL training path runs: on tfjs-webgpu, unless the `unfused` setting names it. */
export function useFused(path: FusedPath): boolean {
  return tf.getBackend() === 'webgpu' && !settings().unfused.includes(path);
}
