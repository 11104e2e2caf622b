import * as tf from '@tensorflow/tfjs';
import { fusedElementwise } from './elementwise-program.js';

/** What this module uses of tfjs-webgpu's backend: running a program on tensors it holds. */
interface WebGpuProgramRunner {
  runWebGPUProgram(program: CustomProgram, inputs: tf.TensorInfo[], dtype: 'float32'): tf.TensorInfo;
  tensorMap: { get(dataId: tf.DataId): { dtype: tf.DataType } | undefined };
}

export interface CustomProgramSpec {
  /** Keys the compiled pipeline: one name, one code (shapes baked into the code go into the name). */
  name: string;
  /** Float32 inputs, bound as `var<storage, read> NAME: array<f32>` (names upper case). */
  inputs: Readonly<Record<string, tf.Tensor>>;
  outputShape: readonly number[];
  /**
   * Workgroups; the shader finds its work from `groupIndex()` (0 ≤ it < WORKGROUPS, except in
   * the last row of a dispatch folded into two dimensions, where it may reach past WORKGROUPS:
   * such a workgroup must write nothing) and `localId.x`.
   */
  workgroups: number;
  workgroupSize: number;
  /**
   * WGSL declarations (workgroup arrays, helpers) and a `fn main(index : i32)` writing `result`;
   * called only when tfjs compiles the pipeline (the name keys its cache), not on every dispatch.
   */
  code: () => string;
  /** 4: inputs and `result` are bound as arrays of vec4<f32> (every size a multiple of 4). */
  components?: 1 | 4;
}

/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension. */
const MAX_PER_DIMENSION = 65535;

class CustomProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];
  readonly outputComponent: number;
  readonly variableComponents: number[];

  constructor(private readonly spec: CustomProgramSpec) {
    this.outputComponent = spec.components ?? 1;
    this.variableComponents = Object.keys(spec.inputs).map(() => this.outputComponent);
    this.variableNames = Object.keys(spec.inputs);
    this.outputShape = [...spec.outputShape];
    this.dispatchLayout = { x: spec.outputShape.map((_d, i) => i) };
    this.dispatch = [Math.min(spec.workgroups, MAX_PER_DIMENSION), Math.ceil(spec.workgroups / MAX_PER_DIMENSION), 1];
    this.workgroupSize = [spec.workgroupSize, 1, 1];
    this.shaderKey = `bitnet_custom_${spec.name}`;
  }

  getUserCode(): string {
    return `
    const WORKGROUPS = ${this.spec.workgroups};
    fn groupIndex() -> i32 { return i32(workgroupId.y) * ${this.dispatch[0]} + i32(workgroupId.x); }
    ${this.spec.code()}`;
  }
}

/**
 * Runs hand-written WGSL as a tfjs-webgpu program (so its output is a tfjs tensor in tfjs's own
 * buffers, and autograd, tidy and the profiler see it): a flat dispatch of `workgroups`
 * workgroups, the shader indexing inputs and `result` itself.
 */
export function runCustomProgram<R extends tf.Rank>(spec: CustomProgramSpec): tf.Tensor<R> {
  const backend = tf.backend() as unknown as WebGpuProgramRunner;
  // tfjs casts int32 to float32 by relabelling the int32 buffer; the programs read f32 arrays
  const converted = Object.values(spec.inputs).map((t) => {
    if (t.dtype !== 'float32') throw new Error(`${spec.name}: inputs must be float32, got ${t.dtype}`);
    return backend.tensorMap.get(t.dataId)?.dtype === 'float32' ? undefined : fusedElementwise('stored_as_f32', { X: t }, {}, 'x');
  });
  const inputs = Object.values(spec.inputs).map((t, i) => converted[i] ?? t);
  const info = backend.runWebGPUProgram(
    new CustomProgram(spec),
    inputs.map((t) => ({ dataId: t.dataId, shape: t.rank === 0 ? [1] : t.shape, dtype: t.dtype })),
    'float32',
  );
  tf.dispose(converted.filter((t) => t !== undefined));
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/** A WGSL expression for the f32 with exactly this value (no decimal rounding on the way). */
export function f32Literal(x: number): string {
  const bits = new Uint32Array(Float32Array.of(x).buffer)[0] as number;
  return `bitcast<f32>(${bits}u)`;
}
