import * as tf from '@tensorflow/tfjs';
import { fusedElementwise } from '../kernels/webgpu/elementwise-program.js';
import { useFused } from '../kernels/webgpu/fused.js';
import { nativeTrainingOnWasm, swiGluOnWasm } from '../kernels/native/wasm-training.js';
import type { Kwargs, LayerArgs, Shape } from './tfjs-types.js';

const SIGMOID = '(1.0 / (1.0 + exp(-g)))';

/**
 * silu(gate) · up on tfjs-webgpu: one program forward, two backward (dgate = dy·up·σ·(1 + gate·(1 − σ)),
 * dup = dy·silu(gate)), where tfjs's swish activation and multiply layers take about twelve kernels.
 */
function swiGluFused(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [g, u, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([g, u]);
    return {
      value: fusedElementwise('swiglu', { G: g, U: u }, {}, `${SIGMOID} * g * u`),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sg, su] = saved as [tf.Tensor, tf.Tensor];
        return [
          fusedElementwise('swiglu_dgate', { D: dy, G: sg, U: su }, {}, `d * u * ${SIGMOID} * (1.0 + g * (1.0 - ${SIGMOID}))`),
          fusedElementwise('swiglu_dup', { D: dy, G: sg }, {}, `d * (${SIGMOID} * g)`),
        ];
      },
    };
  });
  return f(gate, up);
}

/** silu(gate) · up in tfjs operations, in the order tfjs's swish activation and multiply layers take. */
export function swiGluOps(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(tf.sigmoid(gate), gate), up));
}

/**
 * The gated FFN's activation: [gate, up] → silu(gate) · up, the SwiGLU of Llama and BitNet.
 * One layer where a swish activation and a multiply layer did the same (models saved that way
 * still load); fused on tfjs-webgpu, native on tfjs-wasm with the addon.
 */
export class SwiGlu extends tf.layers.Layer {
  static className = 'SwiGlu';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const [gate, up] = inputs as tf.Tensor[];
    const swiGlu = useFused('swiglu') ? swiGluFused : nativeTrainingOnWasm('swiglu') ? swiGluOnWasm : swiGluOps;
    return swiGlu(gate as tf.Tensor, up as tf.Tensor);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (inputShape as Shape[])[0] as Shape;
  }
}
