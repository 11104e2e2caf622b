import * as tf from '@tensorflow/tfjs';
import { f32Literal, runCustomProgram } from './custom-program.js';

const WG = 256;

/** `expression`, times scale unless it is 1 (as a float32 literal). */
const scaled = (expression: string, scale: number): string => (scale === 1 ? expression : `${expression} * ${f32Literal(scale)}`);

/**
 * A workgroup reduction: each of `threads` invocations folds its share into `acc` (`accumulate`,
 * with `lid` and `wid` = groupIndex() in scope), a tree combines the shares into part[0], and
 * invocation 0 runs `write`.
 */
function reductionCode(threads: number, op: 'sum' | 'max', accumulate: string, write: string): string {
  const combine = op === 'sum' ? 'part[lid] + part[lid + stride]' : 'max(part[lid], part[lid + stride])';
  return `
      const WG = ${threads};
      var<workgroup> part : array<f32, WG>;
      fn main(index : i32) {
        _ = uniforms.outShape;
        let lid = i32(localId.x);
        let wid = groupIndex();
        var acc = ${op === 'sum' ? '0.0' : '-3.0e38'};
        ${accumulate}
        part[lid] = acc;
        for (var stride = WG / 2; stride > 0; stride = stride / 2) {
          workgroupBarrier();
          if (lid < stride) { part[lid] = ${combine}; }
        }
        workgroupBarrier();
        if (lid == 0) { ${write} }
      }`;
}

const MAPS = { abs: 'abs(x)', square: 'x * x' } as const;

/**
 * scale · Σ map(x) over the whole tensor, on tfjs-webgpu, in two dispatches: up to 256
 * workgroups each sum a strided share, then one workgroup sums their partials. tfjs reduces a
 * whole tensor in a single workgroup (and applies the map as a kernel of its own).
 */
export function sumAll(x: tf.Tensor, map: keyof typeof MAPS, scale: number): tf.Scalar {
  return tf.tidy(() => tf.reshape<tf.Rank.R0>(sumOfAll([partialSums([x], map)], scale), []));
}

/**
 * Σ over rows of `expression` → [cols], on tfjs-webgpu, in two dispatches (chunks of rows, then
 * the chunks), where tfjs transposes first and reduces each column in one workgroup. The first
 * input is [rows, cols]; the others have its shape or are one value per row ([rows, 1]); the
 * expression reads them in lower case, like fusedElementwise.
 */
export function sumRows(inputs: Readonly<Record<string, tf.Tensor>>, expression: string): tf.Tensor1D {
  const tensors = Object.entries(inputs);
  const first = tensors[0]?.[1] as tf.Tensor;
  const cols = first.shape.at(-1) as number;
  const rows = first.size / cols;
  const perRow = (t: tf.Tensor): boolean => t !== first && t.size === rows && cols > 1;
  const reads = tensors.map(([name, t]) => `let ${name.toLowerCase()} = ${name}[${perRow(t) ? 'r' : `r * ${cols} + c`}];`).join('\n            ');
  const chunk = 64;
  const chunks = Math.ceil(rows / chunk);
  const threads = 64;
  const first_ = runCustomProgram<tf.Rank.R2>({
    name: `sum_rows_${rows}x${cols}_${tensors.map(([n, t]) => `${n}${perRow(t) ? 'r' : ''}`).join('')}_${expression}`,
    inputs,
    outputShape: [chunks, cols],
    workgroups: chunks * Math.ceil(cols / threads),
    workgroupSize: threads,
    code: () => `
      fn main(index : i32) {
        _ = uniforms.outShape;
        let perChunk = ${Math.ceil(cols / threads)};
        let c = (groupIndex() % perChunk) * ${threads} + i32(localId.x);
        let k = groupIndex() / perChunk;
        if (c < ${cols} && k < ${chunks}) {
          var acc = 0.0;
          for (var r = k * ${chunk}; r < min(k * ${chunk} + ${chunk}, ${rows}); r = r + 1) {
            ${reads}
            acc = acc + (${expression});
          }
          result[k * ${cols} + c] = acc;
        }
      }`,
  });
  const total = runCustomProgram<tf.Rank.R1>({
    name: `sum_chunks_${chunks}x${cols}`,
    inputs: { P: first_ },
    outputShape: [cols],
    workgroups: Math.ceil(cols / threads),
    workgroupSize: threads,
    code: () => `
      fn main(index : i32) {
        _ = uniforms.outShape;
        let c = groupIndex() * ${threads} + i32(localId.x);
        if (c < ${cols}) {
          var acc = 0.0;
          for (var k = 0; k < ${chunks}; k = k + 1) { acc = acc + P[k * ${cols} + c]; }
          result[c] = acc;
        }
      }`,
  });
  first_.dispose();
  return total;
}

/**
 * Per row of the first input ([..., cols]): scale · (Σ or max) of `expression` over the row, as
 * [..., 1], in one dispatch (a workgroup per row). The other inputs have the first's shape or
 * are vectors of `cols` (a gain); the expression reads them in lower case, like fusedElementwise.
 * Where tfjs would run the elementwise map as a kernel of its own and write it out in full.
 */
export function reduceRows(inputs: Readonly<Record<string, tf.Tensor>>, expression: string, op: 'sum' | 'max', scale = 1): tf.Tensor {
  const tensors = Object.entries(inputs);
  const first = tensors[0]?.[1] as tf.Tensor;
  const cols = first.shape.at(-1) as number;
  const rows = first.size / cols;
  const threads = cols >= 1024 ? 256 : 64;
  const reads = tensors.map(([name, t]) => `let ${name.toLowerCase()} = ${name}[${t.size === cols && t !== first ? 'c' : 'base + c'}];`).join('\n          ');
  return runCustomProgram({
    name: `reduce_rows_${op}_${rows}x${cols}_${scale}_${tensors.map(([n, t]) => `${n}${t.size === cols && t !== first ? 'v' : ''}`).join('')}_${expression}`,
    inputs,
    outputShape: [...first.shape.slice(0, -1), 1],
    workgroups: rows,
    workgroupSize: threads,
    code: () =>
      reductionCode(
        threads,
        op,
        `let row = min(wid, ${rows - 1});
        let base = row * ${cols};
        for (var c = lid; c < ${cols}; c = c + WG) {
          ${reads}
          acc = ${op === 'sum' ? `acc + (${expression})` : `max(acc, ${expression})`};
        }`,
        `if (wid < ${rows}) { result[row] = ${scaled('part[0]', scale)}; }`,
      ),
  });
}

/** Storage buffers a dispatch may bind in WebGPU's default limits (8), less the output. */
const MAX_INPUTS = 7;

/** Per-workgroup partial sums of map(x) over up to MAX_INPUTS tensors, one dispatch: [Σ partials]. */
function partialSums(tensors: readonly tf.Tensor[], map: keyof typeof MAPS): tf.Tensor1D {
  const parts = tensors.map((t) => Math.max(1, Math.min(256, Math.ceil(t.size / (WG * 8)))));
  const offsets = parts.map((_p, i) => parts.slice(0, i).reduce((a, b) => a + b, 0));
  const total = parts.reduce((a, b) => a + b, 0);
  const inputs = Object.fromEntries(tensors.map((t, i) => [`X${i}`, t]));
  const branches = tensors
    .map((t, i) => {
      const loop = `for (var i = (wid - ${offsets[i]}) * WG + lid; i < ${t.size}; i = i + ${(parts[i] as number) * WG}) { let x = X${i}[i]; acc = acc + ${MAPS[map]}; }`;
      return i === tensors.length - 1 ? `{ ${loop} }` : `if (wid < ${(offsets[i] as number) + (parts[i] as number)}) { ${loop} }`;
    })
    .join(' else ');
  return runCustomProgram<tf.Rank.R1>({
    name: `partial_sums_${map}_${tensors.map((t) => t.size).join('_')}`,
    inputs,
    outputShape: [total],
    workgroups: total,
    workgroupSize: WG,
    code: () => reductionCode(WG, 'sum', branches, `if (wid < ${total}) { result[wid] = part[0]; }`),
  });
}

/** scale · Σ of every element of up to MAX_INPUTS tensors, one workgroup: [1]. */
function sumOfAll(tensors: readonly tf.Tensor[], scale = 1): tf.Tensor1D {
  const loops = tensors.map((t, i) => `for (var i = lid; i < ${t.size}; i = i + WG) { acc = acc + P${i}[i]; }`).join('\n        ');
  return runCustomProgram<tf.Rank.R1>({
    name: `sum_of_all_${tensors.map((t) => t.size).join('_')}_${scale}`,
    inputs: Object.fromEntries(tensors.map((t, i) => [`P${i}`, t])),
    outputShape: [1],
    workgroups: 1,
    workgroupSize: WG,
    code: () => reductionCode(WG, 'sum', loops, `result[0] = ${scaled('part[0]', scale)};`),
  });
}

/**
 * Σ x² over every element of many tensors (the squared global norm of a model's gradients) on
 * tfjs-webgpu: one dispatch per seven tensors for the partial sums, then one per seven of those,
 * where a sum per tensor takes two dispatches each. A scalar.
 */
export function sumOfSquares(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    let level: tf.Tensor[] = [];
    for (let i = 0; i < tensors.length; i += MAX_INPUTS) level.push(partialSums(tensors.slice(i, i + MAX_INPUTS), 'square'));
    do {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += MAX_INPUTS) next.push(sumOfAll(level.slice(i, i + MAX_INPUTS)));
      level = next;
    } while (level.length > 1);
    return tf.reshape<tf.Rank.R0>(level[0] as tf.Tensor, []);
  });
}
