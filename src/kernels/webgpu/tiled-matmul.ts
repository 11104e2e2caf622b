import * as tf from '@tensorflow/tfjs';
import { runCustomProgram } from './custom-program.js';

const BM = 128;
const BN = 128;
const BK = 8;
const THREADS = 256;

/** The start of main: this workgroup's output tile (m0, n0) and the invocation's place in it (tx, ty). */
function tileOrigin(tilesN: number): string {
  return `_ = uniforms.outShape;
      let tid = i32(localId.x);
      let wid = groupIndex();
      let m0 = (wid / ${tilesN}) * ${BM};
      let n0 = (wid % ${tilesN}) * ${BN};
      let tx = tid % 16;
      let ty = tid / 16;`;
}

/** WGSL reading element (row, col) of the logical operand from its stored layout, zero outside. */
function operand(name: string, rows: string, cols: string, transposed: boolean): string {
  const at = transposed ? `${name}[col * ${rows} + row]` : `${name}[row * ${cols} + col]`;
  return `fn read${name}(row : i32, col : i32) -> f32 {
      if (row < ${rows} && col < ${cols}) { return ${at}; }
      return 0.0;
    }`;
}

/**
 * C = op(A) · op(B) for float32 matrices on tfjs-webgpu, op a transpose where asked (read in
 * place, no transposed copy): 128 × 128 output tiles per workgroup of 256 invocations, 8 × 8
 * outputs each, K in steps of 8 through workgroup memory. tfjs-webgpu's own product tiles 32 × 32
 * with 64 invocations (4 × 4 each), which loads the operands twice as often per multiply-add.
 */
export function tiledMatMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  const [m, k] = transposeA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = transposeB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) throw new Error(`tiledMatMul: inner sizes differ (${k} and ${k2})`);
  if (m % 4 === 0 && k % 4 === 0 && n % 4 === 0) return vec4MatMul(a, b, m, k, n, transposeA, transposeB);
  const tilesN = Math.ceil(n / BN);
  const code = (): string => `
    const M = ${m};
    const N = ${n};
    const K = ${k};
    var<workgroup> As : array<vec4<f32>, ${(BK * BM) / 4}>;
    var<workgroup> Bs : array<vec4<f32>, ${(BK * BN) / 4}>;
    ${operand('A', 'M', 'K', transposeA)}
    ${operand('B', 'K', 'N', transposeB)}
    fn main(index : i32) {
      ${tileOrigin(tilesN)}
      var acc : array<vec4<f32>, 16>;
      for (var k0 = 0; k0 < K; k0 = k0 + ${BK}) {
        for (var i = 0; i < 4; i = i + 1) {
          let e = tid + i * ${THREADS};
          ${
            transposeA
              ? `let ak = e / ${BM}; let am = e % ${BM};`
              : // eight consecutive k of one row per eight invocations
                `let am = e / ${BK}; let ak = e % ${BK};`
          }
          As[ak * ${BM / 4} + am / 4][am % 4] = readA(m0 + am, k0 + ak);
          ${transposeB ? `let bn = e / ${BK}; let bk = e % ${BK};` : `let bk = e / ${BN}; let bn = e % ${BN};`}
          Bs[bk * ${BN / 4} + bn / 4][bn % 4] = readB(k0 + bk, n0 + bn);
        }
        workgroupBarrier();
        for (var kk = 0; kk < ${BK}; kk = kk + 1) {
          let a0 = As[kk * ${BM / 4} + ty * 2];
          let a1 = As[kk * ${BM / 4} + ty * 2 + 1];
          let b0 = Bs[kk * ${BN / 4} + tx * 2];
          let b1 = Bs[kk * ${BN / 4} + tx * 2 + 1];
          let av = array<f32, 8>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
          for (var r = 0; r < 8; r = r + 1) {
            acc[r * 2] = fma(vec4<f32>(av[r]), b0, acc[r * 2]);
            acc[r * 2 + 1] = fma(vec4<f32>(av[r]), b1, acc[r * 2 + 1]);
          }
        }
        workgroupBarrier();
      }
      for (var r = 0; r < 8; r = r + 1) {
        let row = m0 + ty * 8 + r;
        if (row < M) {
          for (var c = 0; c < 8; c = c + 1) {
            let col = n0 + tx * 8 + c;
            if (col < N) { result[row * N + col] = acc[r * 2 + c / 4][c % 4]; }
          }
        }
      }
    }`;
  return runCustomProgram<tf.Rank.R2>({
    name: `matmul_${m}x${k}x${n}_${transposeA ? 't' : 'n'}${transposeB ? 't' : 'n'}`,
    inputs: { A: a, B: b },
    outputShape: [m, n],
    workgroups: Math.ceil(m / BM) * tilesN,
    workgroupSize: THREADS,
    code,
  });
}

const VK = 16;

/*
 * A K step's tile of one operand into workgroup memory `tile` (k-major, vec4 along the outer
 * dimension): two vec4 per invocation, 512 in all. The operand is stored either with K as its rows
 * ([K, outer]: a K row of the tile is 32 consecutive vec4) or with K along its rows ([outer, K]:
 * each outer row gives 4 consecutive vec4 along K, spread over four k rows of the tile).
 */
function loadKRows(src: string, tile: string, outer: string, origin: string): string {
  return `for (var i = 0; i < 2; i = i + 1) {
            let e = tid + i * 256;
            let kr = e / 32; let q = e % 32;
            var v = vec4<f32>(0.0);
            if (k0 + kr < K && ${origin} + q * 4 < ${outer}) { v = ${src}[((k0 + kr) * ${outer} + ${origin}) / 4 + q]; }
            ${tile}[kr * 32 + q] = v;
          }`;
}

function loadOuterRows(src: string, tile: string, outer: string, origin: string): string {
  return `for (var i = 0; i < 2; i = i + 1) {
            let e = tid + i * 256;
            let row = e / 4; let kq = e % 4;
            var v = vec4<f32>(0.0);
            if (${origin} + row < ${outer} && k0 + kq * 4 < K) { v = ${src}[((${origin} + row) * K + k0) / 4 + kq]; }
            ${tile}[(kq * 4) * 32 + row / 4][row % 4] = v.x;
            ${tile}[(kq * 4 + 1) * 32 + row / 4][row % 4] = v.y;
            ${tile}[(kq * 4 + 2) * 32 + row / 4][row % 4] = v.z;
            ${tile}[(kq * 4 + 3) * 32 + row / 4][row % 4] = v.w;
          }`;
}

/**
 * The same product where M, K and N are multiples of 4: operands read as vec4, K in steps of 16,
 * and the inner loop written out (straight-line code, every accumulator a named vec4 register).
 * Each invocation owns rows {4ty..4ty+3, 64+4ty..} and columns {4tx.., 64+4tx..} of the tile.
 */
function vec4MatMul(a: tf.Tensor2D, b: tf.Tensor2D, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  const tilesN = Math.ceil(n / BN);
  const code = (): string => {
    const acc = (r: number, h: number): string => `c${r}_${h}`;
    const declare: string[] = [];
    for (let r = 0; r < 8; r++) for (let h = 0; h < 2; h++) declare.push(`var ${acc(r, h)} = vec4<f32>(0.0);`);
    const step: string[] = [];
    for (let kk = 0; kk < VK; kk++) {
      step.push(`a0 = As[${kk * 32} + ty]; a1 = As[${kk * 32 + 16} + ty]; b0 = Bs[${kk * 32} + tx]; b1 = Bs[${kk * 32 + 16} + tx];`);
      for (let r = 0; r < 8; r++) {
        const av = `${r < 4 ? 'a0' : 'a1'}.${'xyzw'[r % 4] as string}`;
        step.push(`${acc(r, 0)} = fma(vec4<f32>(${av}), b0, ${acc(r, 0)}); ${acc(r, 1)} = fma(vec4<f32>(${av}), b1, ${acc(r, 1)});`);
      }
    }
    const loadA = transposeA ? loadKRows('A', 'As', 'M', 'm0') : loadOuterRows('A', 'As', 'M', 'm0');
    const loadB = transposeB ? loadOuterRows('B', 'Bs', 'N', 'n0') : loadKRows('B', 'Bs', 'N', 'n0');
    const store: string[] = [];
    for (let r = 0; r < 8; r++) {
      const row = r < 4 ? `m0 + ty * 4 + ${r}` : `m0 + 64 + ty * 4 + ${r - 4}`;
      store.push(`if (${row} < M) {
            if (n0 + tx * 4 < N) { result[((${row}) * N + n0) / 4 + tx] = ${acc(r, 0)}; }
            if (n0 + 64 + tx * 4 < N) { result[((${row}) * N + n0) / 4 + 16 + tx] = ${acc(r, 1)}; }
          }`);
    }
    return `
      const M = ${m};
      const N = ${n};
      const K = ${k};
      var<workgroup> As : array<vec4<f32>, ${(VK * BM) / 4}>;
      var<workgroup> Bs : array<vec4<f32>, ${(VK * BN) / 4}>;
      fn main(index : i32) {
        ${tileOrigin(tilesN)}
        ${declare.join('\n      ')}
        var a0 : vec4<f32>;
        var a1 : vec4<f32>;
        var b0 : vec4<f32>;
        var b1 : vec4<f32>;
        for (var k0 = 0; k0 < K; k0 = k0 + ${VK}) {
          ${loadA}
          ${loadB}
          workgroupBarrier();
          ${step.join('\n        ')}
          workgroupBarrier();
        }
        ${store.join('\n      ')}
      }`;
  };
  return runCustomProgram<tf.Rank.R2>({
    name: `matmul4_${m}x${k}x${n}_${transposeA ? 't' : 'n'}${transposeB ? 't' : 'n'}`,
    inputs: { A: a, B: b },
    outputShape: [m, n],
    workgroups: Math.ceil(m / BM) * tilesN,
    workgroupSize: THREADS,
    code,
    components: 4,
  });
}

/** Below this many 128 × 128 output tiles a GPU is not full (an H200 has 132 multiprocessors). */
const MIN_TILES = 128;

/**
 * op(A) · op(B) on tfjs-webgpu by the faster route measured on an H200
 * (bench/results/webgpu-matmul.md): the tiled product where the output fills the GPU with its
 * tiles; otherwise tfjs's product (whose small-output and split-K programs keep a GPU busy on
 * few tiles), with A transposed as a flag and B transposed explicitly.
 */
export function matMulOnWebGpu(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  const m = transposeA ? a.shape[1] : a.shape[0];
  const n = transposeB ? b.shape[0] : b.shape[1];
  if (Math.ceil(m / BM) * Math.ceil(n / BN) >= MIN_TILES) return tiledMatMul(a, b, transposeA, transposeB);
  return tf.tidy(() => tf.matMul(a, transposeB ? tf.transpose(b) : b, transposeA, false));
}
