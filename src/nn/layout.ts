/**
 * The one place that converts between tfjs Dense's kernel layout [in, out] and
 * PyTorch's weight layout [out, in] (what quantization, packing and exports speak).
 */
export function transpose2d<T extends Float32Array | Int8Array>(data: T, rows: number, cols: number): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  }
  return out;
}

/** Dense kernel [in, out] → PyTorch weight [out, in]. */
export function kernelToTorch<T extends Float32Array | Int8Array>(kernel: T, inDim: number, outDim: number): T {
  return transpose2d(kernel, inDim, outDim);
}

/** PyTorch weight [out, in] → Dense kernel [in, out]. */
export function torchToKernel<T extends Float32Array | Int8Array>(weight: T, outDim: number, inDim: number): T {
  return transpose2d(weight, outDim, inDim);
}
