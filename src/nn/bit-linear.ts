import * as tf from '@tensorflow/tfjs';
import { parseBitNetConfig, type BitNetConfig } from '../config.js';
import { BitNetError } from '../errors.js';
import { quantizeActivationsTensor, straightThrough } from '../quant/ste.js';
import { fakeQuantActivationsFused, fakeQuantKernelFused } from './fused-fake-quant.js';
import { quantizeWeights, TernaryWeight, type GroupSize } from '../quant/weight.js';
import { resolveInitializer, serializeInitializer, type Initializer, type InitializerSpec, type SerializedInitializer } from './initializers.js';
import { kernelToTorch, torchToKernel } from './layout.js';
import { unpackTernaryCodes } from './ternary-codes.js';
import { linearMatMul } from './matmul.js';
import { rmsNorm } from './rms-norm.js';
import { applyActivation, resolveActivation, type ActivationName } from './activations.js';
import { resolveKernels } from '../kernels/registry.js';
import type { Kernels } from '../kernels/types.js';
import { settings } from '../settings.js';
import type { GpuTernaryLinear } from '../kernels/webgpu/ternary-wgsl.js';
import { uploadTernaryToBackend, webGpuTernaryMatMul } from './webgpu-linear.js';
import { TernaryLinear } from '../kernels/ternary-linear.js';
import { singleInput, singleShape, type Kwargs, type LayerArgs, type LayerVariable, type Shape } from './tfjs-types.js';

export interface BitLinearArgs extends LayerArgs {
  /** Output features. */
  units: number;
  /** Add a bias after the matMul (BitNet models have none). Default false. */
  useBias?: boolean;
  /** Weight scale granularity: 'tensor' (default) or a power of two dividing the input features. */
  groupSize?: GroupSize;
  /** Activation integer bits, 2..8 (default 8). */
  activationBits?: number;
  /** Activation scale per 'token' (default) or per 'tensor'. */
  activationScope?: 'token' | 'tensor';
  /** Floor of the weight and activation scale denominators (default 1e-5). */
  eps?: number;
  /** Sub-LN: RMSNorm with a learnable gain before activation quantization (default true). */
  useRmsNorm?: boolean;
  rmsNormEps?: number;
  /** Quantization strength for warm-up: x + lambda * (q(x) - x). 1 = BitNet (default), 0 = plain linear. */
  quantLambda?: number;
  /** Compute with exact integer arithmetic on cached ternary weights (see `setInference`). */
  inference?: boolean;
  /**
   * Merged storage: the layer holds ternary weights (`qkernel`, [in, out]) and their scales
   * instead of the latent kernel, and always computes in inference mode.
   */
  merged?: boolean;
  /**
   * With `merged`: the ternary values as 2-bit codes, 16 to an int32 (`qcodes`, PyTorch [out, in]
   * order, code = q + 1), a sixteenth of `qkernel`'s float32: a deployed model held for adapter
   * training (lmModelFromWeights).
   */
  packed?: boolean;
  /** Applied after the bias, as in Dense (default 'linear'). */
  activation?: string;
  /**
   * A plain full-precision linear layer with the same weights and layout (no quantization, no
   * norm): the fp32 twin of a BitNet model, trained on the same fast matmul path.
   */
  fullPrecision?: boolean;
  kernelInitializer?: InitializerSpec | SerializedInitializer;
  biasInitializer?: InitializerSpec | SerializedInitializer;
}

/** Ternary weights as the integer forward pass uses them, built from the latent kernel. */
interface InferenceWeights {
  ternary: TernaryWeight;
  /** The packed-kernel layer, made on first use by the kernel engine. */
  kernel?: TernaryLinear;
  /** The packed weights on the webgpu backend's device, uploaded on first use there. */
  gpu?: GpuTernaryLinear;
  /** q as float32 in the kernel layout [in, out] and beta (per tensor: a scalar; per group: [in/groupSize, 1, out]), made when the tfjs-operations route first runs. */
  float?: { q: tf.Tensor2D; beta: tf.Tensor };
}

function checkLambda(lambda: number): number {
  if (!(lambda >= 0 && lambda <= 1)) {
    throw new BitNetError('INVALID_CONFIG', `quantLambda must be in [0, 1], got ${String(lambda)}`, { field: 'quantLambda' });
  }
  return lambda;
}

/**
 * A linear layer with ternary weights and integer activations (BitNet b1.58).
 * Training: RMSNorm → activation fake-quant (STE) → weight fake-quant (STE) → matMul → bias.
 * Inference: the same, computed as int8 × ternary with exact integer accumulation, then scaled.
 * The latent kernel keeps tfjs Dense's layout [in, out], so Dense weights carry over.
 */
export class BitLinear extends tf.layers.Layer {
  static className = 'BitLinear';
  readonly units: number;
  readonly useBias: boolean;
  readonly quant: BitNetConfig;
  readonly merged: boolean;
  readonly packed: boolean;
  readonly fullPrecision: boolean;
  readonly activation: ActivationName;
  /** False turns quantization and the norm off (x @ kernel + bias): an adapter's disable(). */
  quantEnabled = true;
  private lambda: number;
  private inferenceMode: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private kernel: LayerVariable | undefined;
  private qkernel: LayerVariable | undefined;
  private qcodes: LayerVariable | undefined;
  /** The input width of packed storage (its int32 words do not say it). */
  private packedInDim = 0;
  private scales: LayerVariable | undefined;
  private bias: LayerVariable | undefined;
  private normGamma: LayerVariable | undefined;
  private cache: InferenceWeights | undefined;
  private kernels: Kernels | undefined;

  constructor(args: BitLinearArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units <= 0) {
      throw new BitNetError('INVALID_CONFIG', `units must be a positive integer, got ${String(args.units)}`, { field: 'units' });
    }
    this.units = args.units;
    this.useBias = args.useBias ?? false;
    this.quant = parseBitNetConfig({
      ...(args.groupSize === undefined ? {} : { groupSize: args.groupSize }),
      ...(args.activationBits === undefined ? {} : { activationBits: args.activationBits }),
      ...(args.activationScope === undefined ? {} : { activationScope: args.activationScope }),
      ...(args.eps === undefined ? {} : { eps: args.eps }),
      ...(args.useRmsNorm === undefined ? {} : { useRmsNorm: args.useRmsNorm }),
      ...(args.rmsNormEps === undefined ? {} : { rmsNormEps: args.rmsNormEps }),
    });
    this.lambda = checkLambda(args.quantLambda ?? 1);
    this.merged = args.merged ?? false;
    this.packed = this.merged && (args.packed ?? false);
    this.fullPrecision = args.fullPrecision ?? false;
    if (this.fullPrecision) this.quantEnabled = false;
    this.inferenceMode = this.merged || (args.inference ?? false);
    this.activation = resolveActivation(args.activation);
    this.kernelInitializer = resolveInitializer(args.kernelInitializer, 'glorotUniform');
    this.biasInitializer = resolveInitializer(args.biasInitializer, 'zeros');
    this.supportsMasking = true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const inDim = singleShape(inputShape).at(-1);
    if (inDim === null || inDim === undefined) {
      throw new BitNetError('INVALID_SHAPE', `${this.name}: BitLinear needs a known last input dimension`, { field: 'inputShape' });
    }
    const { groupSize } = this.quant;
    if (groupSize !== 'tensor' && inDim % groupSize !== 0) {
      throw new BitNetError('INVALID_CONFIG', `${this.name}: groupSize ${groupSize} does not divide the input dimension ${inDim}`, {
        field: 'groupSize',
        hint: `choose a power of two dividing ${inDim}, or 'tensor'`,
      });
    }
    if (this.quant.useRmsNorm) this.normGamma = this.addWeight('norm_gamma', [inDim], 'float32', tf.initializers.ones());
    if (this.merged) {
      const scaleCount = groupSize === 'tensor' ? 1 : (inDim / groupSize) * this.units;
      this.packedInDim = inDim;
      if (this.packed) this.qcodes = this.addWeight('qcodes', [Math.ceil((inDim * this.units) / 16)], 'int32', tf.initializers.zeros(), undefined, false);
      else this.qkernel = this.addWeight('qkernel', [inDim, this.units], 'float32', tf.initializers.zeros(), undefined, false);
      this.scales = this.addWeight('scales', [scaleCount], 'float32', tf.initializers.ones(), undefined, false);
    } else {
      this.kernel = this.addWeight('kernel', [inDim, this.units], 'float32', this.kernelInitializer);
    }
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', this.biasInitializer);
    this.inputSpec = [{ minNDim: 2, axes: { [-1]: inDim } }];
    this.built = true;
  }

  /** Quantization strength (warm-up); takes effect on the next call. */
  get quantLambda(): number {
    return this.lambda;
  }

  set quantLambda(lambda: number) {
    this.lambda = checkLambda(lambda);
  }

  get inference(): boolean {
    return this.inferenceMode;
  }

  /** Switches to exact integer inference on the current weights (or back to training mode). */
  setInference(on: boolean): void {
    if (this.merged && !on) {
      throw new BitNetError('INVALID_ARGUMENT', `${this.name}: a merged BitLinear has no latent weights to train`, {
        hint: 'unmerge the adapter to get the latent weights back',
      });
    }
    this.inferenceMode = on;
    this.clearCache();
  }

  /** Inference mode on the current weights: ternary weights are quantized once and cached. */
  freeze(): void {
    this.setInference(true);
  }

  /**
   * The float kernel [in, out] this layer multiplies by: the kernel itself with quantization off,
   * beta · q in inference mode or merged, the fake-quantized latent kernel (STE, lambda) in training.
   * What an adapter that reads the weight (DoRA's norm) sees.
   */
  effectiveKernel(): tf.Tensor2D {
    if (!this.quantEnabled || this.fullPrecision) return tf.clone(this.requireKernel().read() as tf.Tensor2D);
    if (this.inferenceMode) return this.dequantizedKernel();
    const { groupSize, eps } = this.quant;
    return straightThrough(this.requireKernel().read() as tf.Tensor2D, (k) => fakeQuantKernelFused(k, groupSize, eps), this.lambda);
  }

  /** The ternary weight [out, in] (PyTorch layout) of the current latent kernel. */
  ternaryWeight(): TernaryWeight {
    return this.inferenceWeights().ternary;
  }

  private requireKernel(): LayerVariable {
    if (this.kernel === undefined) {
      throw new BitNetError('INVALID_ARGUMENT', `${this.name}: ${this.merged ? 'a merged layer has no latent kernel' : 'the layer is not built yet'}`, {
        hint: this.merged ? 'use ternaryWeight()' : 'call it on an input (or build it) first',
      });
    }
    return this.kernel;
  }

  /**
   * Reads the weights back asynchronously and caches the ternary weights, so that inference mode
   * works where synchronous reads do not (tfjs-webgpu in Node: weights trained on the GPU).
   */
  async prepareInference(): Promise<void> {
    if (this.cache !== undefined) return;
    const read = async (v: LayerVariable): Promise<Float32Array> => (await v.read().data()) as Float32Array;
    if (this.qcodes !== undefined && this.scales !== undefined) {
      const codes = (await this.qcodes.read().data()) as Int32Array;
      this.inferenceWeights(this.unpackTernary(codes, await read(this.scales)));
      return;
    }
    const merged = this.qkernel !== undefined && this.scales !== undefined;
    const main = await read(merged ? (this.qkernel as LayerVariable) : this.requireKernel());
    const scales = merged ? await read(this.scales as LayerVariable) : undefined;
    this.inferenceWeights(this.computeTernary(main, scales));
  }

  /** The ternary weight: quantized from the latent kernel, or read from merged storage. */
  private computeTernary(main?: Float32Array, mergedScales?: Float32Array): TernaryWeight {
    const sync = (v: LayerVariable): Float32Array => {
      try {
        return v.read().dataSync() as Float32Array;
      } catch (cause) {
        throw new BitNetError('BACKEND_UNAVAILABLE', `${this.name}: the ${tf.getBackend()} backend cannot read weights synchronously`, {
          hint: 'await layer.prepareInference() (or prepareInference(model)) before calling it in inference mode',
          cause,
        });
      }
    };
    if (this.qcodes !== undefined && this.scales !== undefined) return this.unpackTernary(this.qcodes.read().dataSync() as Int32Array, sync(this.scales));
    if (this.qkernel !== undefined && this.scales !== undefined) {
      const [inDim, outDim] = this.qkernel.shape as [number, number];
      const q = kernelToTorch(main ?? sync(this.qkernel), inDim, outDim);
      return new TernaryWeight(Int8Array.from(q), Float32Array.from(mergedScales ?? sync(this.scales)), [outDim, inDim], this.quant.groupSize);
    }
    const kernel = this.requireKernel();
    const [inDim, outDim] = kernel.shape as [number, number];
    const data = main ?? sync(kernel);
    return quantizeWeights(kernelToTorch(data, inDim, outDim), [outDim, inDim], { groupSize: this.quant.groupSize, eps: this.quant.eps });
  }

  private unpackTernary(codes: Int32Array, scales: Float32Array): TernaryWeight {
    const inDim = this.packedInDim;
    return new TernaryWeight(unpackTernaryCodes(codes, inDim * this.units), Float32Array.from(scales), [this.units, inDim], this.quant.groupSize);
  }

  private inferenceWeights(prepared?: TernaryWeight): InferenceWeights {
    this.cache ??= { ternary: prepared ?? this.computeTernary() };
    return this.cache;
  }

  /** q and beta as tensors (the tfjs-operations route), kept with the cache. */
  private floatWeights(): { q: tf.Tensor2D; beta: tf.Tensor } {
    const weights = this.inferenceWeights();
    if (weights.float !== undefined) return weights.float;
    const { ternary } = weights;
    const [outDim, inDim] = ternary.shape;
    const { groupSize } = this.quant;
    const q = tf.keep(tf.tensor2d(torchToKernel(Float32Array.from(ternary.values), outDim, inDim), [inDim, outDim]));
    const beta = tf.keep(
      groupSize === 'tensor'
        ? tf.scalar(ternary.scales[0] as number)
        : tf.tidy(() => tf.transpose(tf.tensor2d(ternary.scales, [outDim, inDim / groupSize])).reshape([inDim / groupSize, 1, outDim])),
    );
    weights.float = { q, beta };
    return weights.float;
  }

  private clearCache(): void {
    if (this.cache === undefined) return;
    this.cache.kernel?.dispose();
    this.cache.gpu?.codes.destroy();
    if (this.cache.float !== undefined) tf.dispose([this.cache.float.q, this.cache.float.beta]);
    this.cache = undefined;
  }

  /** Training-mode product: fake-quantized activations × fake-quantized kernel, with STE. */
  private trainingMatMul(x: tf.Tensor2D): tf.Tensor2D {
    const { activationBits, activationScope, eps, groupSize } = this.quant;
    const kernel = this.requireKernel().read() as tf.Tensor2D;
    const xq = straightThrough(x, (t) => fakeQuantActivationsFused(t, activationBits, activationScope, eps), this.lambda);
    const wq = straightThrough(kernel, (k) => fakeQuantKernelFused(k, groupSize, eps), this.lambda);
    return linearMatMul(xq, wq);
  }

  /**
   * The integer product with a gradient to its input: dX = dY · (beta · q)ᵀ, straight through the
   * activation quantization, so adapters (LoRA) train on a merged or loaded ternary model. The
   * weights themselves take no gradient (they are integers).
   */
  private integerProduct(x: tf.Tensor2D): tf.Tensor2D {
    const product = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: this.integerMatMul(args[0] as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy, this.dequantizedKernel(), false, true),
    }));
    return product(x) as tf.Tensor2D;
  }

  /**
   * beta · q as a new float tensor [in, out] (the caller disposes it). Made from the ternary
   * codes each time it is asked for, so a model held for adapter training keeps no float copy of
   * its frozen weights between steps.
   */
  private dequantizedKernel(): tf.Tensor2D {
    const { ternary } = this.inferenceWeights();
    const [outDim, inDim] = ternary.shape;
    const { groupSize } = this.quant;
    const per = groupSize === 'tensor' ? inDim : groupSize;
    const groups = inDim / per;
    const w = new Float32Array(inDim * outDim);
    for (let o = 0; o < outDim; o++)
      for (let i = 0; i < inDim; i++) {
        const beta = ternary.scales[groupSize === 'tensor' ? 0 : o * groups + Math.floor(i / per)] as number;
        w[i * outDim + o] = Math.fround(beta * (ternary.values[o * inDim + i] as number));
      }
    return tf.tensor2d(w, [inDim, outDim]);
  }

  /**
   * Integer product: acc = q_x · q_w summed exactly (integers below 2^24 are exact in float32),
   * then per tensor y = acc * (beta * 1/s); per group y = (sum over groups of acc_g * beta_g) * 1/s.
   */
  private integerMatMul(x: tf.Tensor2D): tf.Tensor2D {
    const { activationBits, activationScope, eps, groupSize } = this.quant;
    const route = this.inferenceRoute();
    if (route === 'kernels') return this.kernelMatMul(x);
    if (route === 'wgsl' && groupSize === 'tensor' && activationScope === 'token') {
      const weights = this.inferenceWeights();
      weights.gpu ??= uploadTernaryToBackend(weights.ternary, { activationBits, eps });
      return webGpuTernaryMatMul(x, weights.gpu);
    }
    const { q: qw, beta } = this.floatWeights();
    const { q: qx, s } = quantizeActivationsTensor(x, activationBits, activationScope, eps);
    const invS = tf.reciprocal(s);
    if (groupSize === 'tensor') return tf.mul(tf.matMul(qx as tf.Tensor2D, qw), tf.mul(beta, invS));
    const [n, inDim] = x.shape;
    const groups = inDim / groupSize;
    const xg = tf.transpose<tf.Tensor3D>(tf.reshape(qx, [n, groups, groupSize]), [1, 0, 2]);
    const wg = tf.reshape<tf.Rank.R3>(qw, [groups, groupSize, this.units]);
    const scaled = tf.mul(tf.matMul(xg, wg), beta);
    let acc = tf.squeeze(tf.slice(scaled, [0, 0, 0], [1, n, this.units]), [0]);
    for (let g = 1; g < groups; g++) acc = tf.add(acc, tf.squeeze(tf.slice(scaled, [g, 0, 0], [1, n, this.units]), [0]));
    return tf.mul<tf.Tensor2D>(acc, invS);
  }

  /**
   * Where the inference product runs: the packed CPU kernels on the cpu and wasm backends (or
   * always, with the `inference` setting 'kernels'); the WGSL kernels on tfjs-webgpu when the
   * kernel tier is automatic or webgpu; tfjs ops otherwise (the `inference` setting 'tfjs', other
   * backends, or a CPU tier named on webgpu, which cannot read tensors synchronously in Node).
   */
  private inferenceRoute(): 'kernels' | 'wgsl' | 'tfjs' {
    const engine = settings().inference;
    if (engine === 'tfjs') return 'tfjs';
    if (engine === 'kernels') return 'kernels';
    const backend = tf.getBackend();
    if (backend === 'cpu' || backend === 'wasm') return 'kernels';
    const tier = this.kernels?.tier ?? settings().kernel;
    return backend === 'webgpu' && (tier === 'auto' || tier === 'webgpu' || this.kernels?.automatic === true) ? 'wgsl' : 'tfjs';
  }

  /** The kernels this layer's inference runs on (default: resolveKernels(), the `kernel` setting); drops packed weights made for others. */
  setKernels(kernels: Kernels | undefined): void {
    this.kernels = kernels;
    if (this.cache?.kernel !== undefined) {
      this.cache.kernel.dispose();
      delete this.cache.kernel;
    }
  }

  /** The tier the packed-kernel product runs on (the TernaryLinear made on first use). */
  kernelTier(): Kernels['tier'] {
    return this.cache?.kernel?.tier ?? (this.kernels ?? resolveKernels()).providers.ternary;
  }

  /** The same integer product on the packed ternary kernels (native / wasm / reference tier). */
  private kernelMatMul(x: tf.Tensor2D): tf.Tensor2D {
    const { activationBits, activationScope, eps } = this.quant;
    const weights = this.inferenceWeights();
    weights.kernel ??= new TernaryLinear(weights.ternary, { kernels: this.kernels ?? resolveKernels(), activationBits, activationScope, eps });
    const [n] = x.shape;
    const y = weights.kernel.forward(x.dataSync() as Float32Array, n);
    return tf.tensor2d(y, [n, this.units]);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const input = singleInput(inputs);
      const inDim = input.shape[input.rank - 1] as number;
      let x = (input.rank === 2 ? input : tf.reshape(input, [-1, inDim])) as tf.Tensor2D;
      let y: tf.Tensor;
      if (!this.quantEnabled || this.fullPrecision) {
        y = linearMatMul(x, this.requireKernel().read() as tf.Tensor2D);
      } else {
        if (this.normGamma !== undefined) x = rmsNorm(x, this.normGamma.read(), this.quant.rmsNormEps) as tf.Tensor2D;
        y = this.inferenceMode ? this.integerProduct(x) : this.trainingMatMul(x);
      }
      if (this.bias !== undefined) y = tf.add(y, this.bias.read());
      y = applyActivation(this.activation, y);
      return input.rank === 2 ? y : tf.reshape(y, [...input.shape.slice(0, -1), this.units]);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...singleShape(inputShape).slice(0, -1), this.units];
  }

  override setWeights(weights: tf.Tensor[]): void {
    super.setWeights(weights);
    this.clearCache();
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.clearCache();
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      useBias: this.useBias,
      groupSize: this.quant.groupSize,
      activationBits: this.quant.activationBits,
      activationScope: this.quant.activationScope,
      eps: this.quant.eps,
      useRmsNorm: this.quant.useRmsNorm,
      rmsNormEps: this.quant.rmsNormEps,
      quantLambda: this.lambda,
      inference: this.inferenceMode,
      merged: this.merged,
      ...(this.packed ? { packed: true } : {}),
      fullPrecision: this.fullPrecision,
      activation: this.activation,
      kernelInitializer: serializeInitializer(this.kernelInitializer) as unknown as tf.serialization.ConfigDictValue,
      biasInitializer: serializeInitializer(this.biasInitializer) as unknown as tf.serialization.ConfigDictValue,
    };
  }
}

export function bitLinear(args: BitLinearArgs): BitLinear {
  return new BitLinear(args);
}
