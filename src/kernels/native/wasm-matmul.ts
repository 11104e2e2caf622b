import * as tf from '@tensorflow/tfjs';
import { settings, threadsFor } from '../../settings.js';
import { nativeSgemm } from './tier.js';
import { heapView, type WasmBackendHeap } from './wasm-heap.js';

let original: tf.KernelConfig | undefined;
let sgemmPath: string | undefined;

/** Whether the native float32 GEMM serves tfjs-wasm's BatchMatMul now (installed, on wasm, not switched off). */
export function nativeMatMulOnWasm(): boolean {
  return sgemmPath !== undefined && tf.getBackend() === 'wasm' && !settings().unfused.includes('matmul');
}

/** The instruction set of the native GEMM behind tfjs-wasm's BatchMatMul, or undefined when it is not installed. */
export function wasmMatMulPath(): string | undefined {
  return sgemmPath;
}

/**
 * Replaces tfjs-wasm's BatchMatMul with the native addon's float32 GEMM (sgemm.c: AVX-512 /
 * AVX2 micro-kernels, threaded), reading and writing the wasm heap in place. tfjs-wasm's own
 * product runs single-threaded at about 16 GFLOP/s here, and transposed operands cost it 2-4x;
 * the native one reads transposes in place. Shapes it does not take (broadcasts other than a
 * batch of one, empty tensors, the `unfused` setting naming `matmul`) go to tfjs-wasm's kernel.
 * Returns whether it is installed (false without the addon).
 */
export function installNativeMatMul(): boolean {
  if (sgemmPath !== undefined) return true;
  const native = nativeSgemm();
  const wasmKernel = tf.getKernel('BatchMatMul', 'wasm');
  if (native === undefined || wasmKernel === undefined) return false;
  original = wasmKernel;
  const fallback = wasmKernel.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as unknown as WasmBackendHeap;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) as number;
    const k = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) as number;
    const n = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) as number;
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = tf.util.sizeFromShape(outer);
    const plain = (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
    if (!nativeMatMulOnWasm() || !plain || a.dtype !== 'float32' || b.dtype !== 'float32' || m * n * k * batch === 0) return fallback(args);
    const out = backend.makeOutput([...outer, m, n], 'float32');
    native.sgemm(
      heapView(backend, a, batchA * m * k),
      heapView(backend, b, batchB * k * n),
      heapView(backend, out, batch * m * n),
      batch,
      batchA,
      batchB,
      m,
      n,
      k,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      threadsFor(batch * m * n * k),
    );
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc,
    ...(wasmKernel.setupFunc === undefined ? {} : { setupFunc: wasmKernel.setupFunc }),
  });
  sgemmPath = native.path;
  return true;
}

/** Puts tfjs-wasm's own BatchMatMul back (tests compare the two). */
export function uninstallNativeMatMul(): void {
  if (original === undefined) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel(original);
  original = undefined;
  sgemmPath = undefined;
}
