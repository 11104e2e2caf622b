import * as tf from '@tensorflow/tfjs';

/** What this module uses of tfjs-webgpu's backend: running a program on tensors it holds. */
interface WebGpuProgramRunner {
  runWebGPUProgram(program: ElementwiseProgram, inputs: tf.TensorInfo[], dtype: 'float32', uniforms: { type: 'float32'; data: number[] }[]): tf.TensorInfo;
}

const WORKGROUP = 128;

/**
 * One tfjs-webgpu program for an elementwise expression over several same-size float32 inputs
 * (the shape tfjs's own unary and binary programs have, with any number of inputs and named f32
 * uniforms): one dispatch where tfjs would run one kernel per operation.
 */
class ElementwiseProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;
  readonly uniforms: string;

  constructor(
    name: string,
    inputs: readonly string[],
    uniformNames: readonly string[],
    private readonly expression: string,
    shape: readonly number[],
  ) {
    this.variableNames = [...inputs];
    this.outputShape = [...shape];
    this.dispatchLayout = { x: shape.map((_d, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, d) => a * d, 1) / WORKGROUP), 1, 1];
    this.uniforms = uniformNames.map((u) => `${u} : f32,`).join(' ');
    this.shaderKey = `bitnet_elementwise_${name}`;
  }

  getUserCode(): string {
    const reads = this.variableNames.map((v) => `let ${v.toLowerCase()} = get${v}ByOutputIndex(index);`).join('\n          ');
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${reads}
          setOutputAtIndex(index, ${this.expression});
        }
      }`;
  }
}

/**
 * Evaluates `expression` elementwise on the webgpu backend in one dispatch. The output has the
 * first input's shape; the others have it too or broadcast to it (a [rows, 1] scale, a scalar).
 * Inputs are float32 tensors named by single upper-case words (read in the expression in lower
 * case); `uniforms` are f32 scalars (`uniforms.<name>`). `name` keys the compiled pipeline, so one
 * name must always go with one expression.
 */
export function fusedElementwise<R extends tf.Rank>(
  name: string,
  inputs: Readonly<Record<string, tf.Tensor>>,
  uniforms: Readonly<Record<string, number>>,
  expression: string,
): tf.Tensor<R> {
  const names = Object.keys(inputs);
  const tensors = Object.values(inputs);
  const shape = (tensors[0] as tf.Tensor).shape;
  const program = new ElementwiseProgram(name, names, Object.keys(uniforms), expression, shape);
  const backend = tf.backend() as unknown as WebGpuProgramRunner;
  const info = backend.runWebGPUProgram(
    program,
    tensors.map((t) => ({ dataId: t.dataId, shape: t.rank === 0 ? [1] : t.shape, dtype: t.dtype })),
    'float32',
    Object.values(uniforms).map((v) => ({ type: 'float32', data: [v] })),
  );
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}
