import type * as tf from '@tensorflow/tfjs';

/** What the native kernels read of tfjs-backend-wasm's BackendWasm: tensors live in the module's heap. */
export interface WasmBackendHeap {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * A float32 view of a tensor's bytes in the wasm heap, for a native kernel to read or write in
 * place. Take views after the last allocation of a call: an allocation can grow (and replace) the heap.
 */
export function heapView(backend: WasmBackendHeap, t: tf.TensorInfo, size: number): Float32Array {
  const stored = backend.dataIdMap.get(t.dataId);
  if (stored === undefined) throw new Error('the tensor is not in the wasm heap');
  return new Float32Array(backend.wasm.HEAPF32.buffer, stored.memoryOffset, size);
}
