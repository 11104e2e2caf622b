import * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../../src/errors.js';
import { applyActivation, resolveActivation, type ActivationName } from '../../src/nn/activations.js';
import { singleInput, singleShape, type Kwargs, type LayerArgs, type LayerVariable, type Shape } from '../../src/nn/tfjs-types.js';

export interface LoraLinearArgs extends LayerArgs {
  /** The wrapped layer in tfjs's serialized form: `{ className: 'Dense' | 'BitLinear', config }`. */
  baseLayer: { className: string; config: tf.serialization.ConfigDict };
  r: number;
  loraAlpha: number;
  loraDropout?: number;
  /** rsLoRA: scaling = alpha / sqrt(r) instead of alpha / r. */
  useRslora?: boolean;
  /** Seed of lora_A's kaiming-uniform initialization. */
  seed?: number;
  /** DoRA: a trained magnitude per output times the direction of W + scaling · A·B (peft's use_dora). */
  useDora?: boolean;
}

/** The value of x with no gradient (DoRA's weight norm is a constant to backpropagation, as in peft and the paper's §4.3). */
function detached(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(x);
}

function createLayer(className: string, config: tf.serialization.ConfigDict): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw new BitNetError('INVALID_CONFIG', `unknown base layer class '${className}'`, { field: 'baseLayer.className' });
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config) as unknown as tf.layers.Layer;
}

/**
 * LoRA around a linear layer: y = act(base(x) + dropout(x) · A · B · scaling), A [in, r]
 * kaiming-uniform, B [r, out] zeros, so a fresh adapter changes nothing. The base may be a
 * Dense or a BitLinear (frozen ternary base + trainable low-rank update).
 */
export class LoraLinear extends tf.layers.Layer {
  static className = 'LoraLinear';
  readonly base: tf.layers.Layer;
  readonly baseClassName: string;
  readonly r: number;
  readonly loraAlpha: number;
  readonly loraDropout: number;
  readonly useRslora: boolean;
  readonly seed: number;
  readonly useDora: boolean;
  /** The base layer's activation, applied after the LoRA update is added. */
  readonly activation: ActivationName;
  /** False skips the LoRA branch (the base model's behaviour). */
  loraEnabled = true;
  private loraA: LayerVariable | undefined;
  private loraB: LayerVariable | undefined;
  private magnitude: LayerVariable | undefined;

  constructor(args: LoraLinearArgs) {
    super(args);
    if (!Number.isInteger(args.r) || args.r <= 0) throw new BitNetError('INVALID_CONFIG', `r must be a positive integer, got ${args.r}`, { field: 'r' });
    const dropout = args.loraDropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new BitNetError('INVALID_CONFIG', `loraDropout must be in [0, 1), got ${dropout}`, { field: 'loraDropout' });
    this.r = args.r;
    this.loraAlpha = args.loraAlpha;
    this.loraDropout = dropout;
    this.useRslora = args.useRslora ?? false;
    this.seed = args.seed ?? 0;
    this.useDora = args.useDora ?? false;
    this.baseClassName = args.baseLayer.className;
    this.activation = resolveActivation(args.baseLayer.config.activation as string | undefined);
    this.base = createLayer(this.baseClassName, { ...args.baseLayer.config, activation: 'linear', name: 'base' });
  }

  get scaling(): number {
    return this.useRslora ? this.loraAlpha / Math.sqrt(this.r) : this.loraAlpha / this.r;
  }

  get units(): number {
    return this.base.getConfig().units as number;
  }

  override build(inputShape: Shape | Shape[]): void {
    const inDim = singleShape(inputShape).at(-1);
    if (inDim === null || inDim === undefined) throw new BitNetError('INVALID_SHAPE', 'LoraLinear needs a known last input dimension', { field: 'inputShape' });
    if (this.r > Math.max(inDim, this.units)) {
      throw new BitNetError('INVALID_CONFIG', `LoRA rank r=${this.r} exceeds both dimensions of ${this.name} (${inDim} -> ${this.units})`, {
        field: 'r',
        hint: 'a rank above min(in, out) adds parameters but nothing a full-rank update cannot do; lower r',
      });
    }
    this.base.build(inputShape);
    this.base.built = true;
    const bound = 1 / Math.sqrt(inDim);
    this.loraA = this.addWeight('lora_A', [inDim, this.r], 'float32', tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: this.seed }));
    this.loraB = this.addWeight('lora_B', [this.r, this.units], 'float32', tf.initializers.zeros());
    if (this.useDora) this.magnitude = this.addWeight('lora_magnitude_vector', [this.units], 'float32', tf.initializers.ones());
    this.built = true;
  }

  /** The base layer's float kernel [in, out] as its forward uses it (a BitLinear: beta · q or the fake-quantized latent). */
  baseKernel(): tf.Tensor2D {
    const base = this.base as tf.layers.Layer & { effectiveKernel?: () => tf.Tensor2D };
    if (typeof base.effectiveKernel === 'function') return base.effectiveKernel();
    const kernel = base.weights.find((w) => /(^|\/)kernel(_\d+)?$/.test(w.originalName));
    if (kernel === undefined) throw new BitNetError('UNSUPPORTED', `${this.name}: the base layer has no kernel`, { field: 'baseLayer' });
    return tf.clone(kernel.read() as tf.Tensor2D);
  }

  /** || W + scaling · A·B || per output (column norms of the [in, out] kernel). */
  weightNorm(): tf.Tensor1D {
    return tf.tidy(() => {
      const delta = tf.mul(tf.matMul(this.loraA?.read() as tf.Tensor2D, this.loraB?.read() as tf.Tensor2D), this.scaling);
      return tf.norm(tf.add(this.baseKernel(), delta), 'euclidean', 0) as tf.Tensor1D;
    });
  }

  /** DoRA's magnitude starts at the norm of the base weight per output (lora_B is zero then), as peft's update_layer. */
  initializeMagnitude(): void {
    if (this.magnitude === undefined) return;
    const norm = this.weightNorm();
    this.magnitude.write(norm);
    norm.dispose();
  }

  /** Every variable: the base's, then lora_A and lora_B. */
  private allVariables(): LayerVariable[] {
    const own = [this.loraA, this.loraB, this.magnitude].filter((v): v is LayerVariable => v !== undefined);
    const base = [...this.base.trainableWeights, ...this.base.nonTrainableWeights];
    return [...base, ...own];
  }

  override get trainableWeights(): LayerVariable[] {
    return this.trainable ? this.allVariables().filter((w) => w.trainable) : [];
  }

  override set trainableWeights(weights: LayerVariable[]) {
    super.trainableWeights = weights;
  }

  override get nonTrainableWeights(): LayerVariable[] {
    return this.trainable ? this.allVariables().filter((w) => !w.trainable) : this.allVariables();
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      let y = this.base.call(x, kwargs) as tf.Tensor;
      if (this.loraEnabled && this.loraA !== undefined && this.loraB !== undefined) {
        const inDim = x.shape[x.rank - 1] as number;
        const h = (x.rank === 2 ? x : tf.reshape(x, [-1, inDim])) as tf.Tensor2D;
        const dropped = this.loraDropout > 0 && kwargs.training === true;
        const hd = dropped ? (tf.dropout(h, this.loraDropout) as tf.Tensor2D) : h;
        const lora = tf.matMul(tf.matMul(hd, this.loraA.read() as tf.Tensor2D), this.loraB.read());
        let update: tf.Tensor = tf.mul(lora, this.scaling);
        if (this.magnitude !== undefined) {
          // peft's DoraLinearLayer: (m / ||W + s·BA|| - 1) · base(x) without bias + m / ||W + s·BA|| · s · B(A x)
          const scale = tf.div(this.magnitude.read(), detached(this.weightNorm()));
          const flat = tf.reshape(y, [-1, this.units]);
          const bias = this.base.weights.find((w) => /(^|\/)bias(_\d+)?$/.test(w.originalName));
          const baseOut = dropped ? tf.matMul(hd, this.baseKernel()) : bias === undefined ? flat : tf.sub(flat, bias.read());
          update = tf.add(tf.mul(tf.sub(scale, 1), baseOut), tf.mul(scale, update));
        }
        y = tf.add(y, x.rank === 2 ? update : tf.reshape(update, y.shape));
      }
      return applyActivation(this.activation, y);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...singleShape(inputShape).slice(0, -1), this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const baseConfig: tf.serialization.ConfigDict = { ...this.base.getConfig(), activation: this.activation };
    delete baseConfig.name;
    return {
      ...super.getConfig(),
      baseLayer: { className: this.baseClassName, config: baseConfig },
      r: this.r,
      loraAlpha: this.loraAlpha,
      loraDropout: this.loraDropout,
      useRslora: this.useRslora,
      seed: this.seed,
      useDora: this.useDora,
    };
  }
}
