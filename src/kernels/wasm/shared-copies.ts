import * as tf from '@tensorflow/tfjs';

interface RefCounting {
  incRef(dataId: object): void;
}

let installed = false;

/**
 * tfjs-wasm's Identity, and its Cast to the same dtype, copy the tensor's bytes; tfjs's autograd
 * runs Identity on every tensor a gradient saves (engine.clone) and Cast in the gradients of
 * multiply and friends: in a small model's training step about 400 copies, a tenth of its time.
 * tfjs tensors are immutable, so these kernels share the bytes instead (counting the reference,
 * as tfjs-wasm's own Reshape and tfjs-cpu's Identity do). Other casts go to tfjs-wasm's kernel.
 */
export function installSharedCopies(): void {
  if (installed) return;
  const identity = tf.getKernel('Identity', 'wasm');
  const cast = tf.getKernel('Cast', 'wasm');
  if (identity === undefined || cast === undefined) return;
  const share = (x: tf.TensorInfo, backend: RefCounting): tf.TensorInfo => {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  const replace = (config: tf.KernelConfig, kernelFunc: tf.KernelFunc): void => {
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  };
  replace(identity, (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    return x.dtype === 'string' ? identity.kernelFunc(args) : share(x, args.backend as unknown as RefCounting);
  });
  replace(cast, (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as { dtype: tf.DataType };
    return x.dtype === dtype && dtype !== 'string' ? share(x, args.backend as unknown as RefCounting) : cast.kernelFunc(args);
  });
  installed = true;
}
