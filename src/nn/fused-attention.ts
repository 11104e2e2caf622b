import * as tf from '@tensorflow/tfjs';
import { f32Literal, runCustomProgram } from '../kernels/webgpu/custom-program.js';
import { ropeTables } from './rope.js';

export interface AttentionShape {
  batch: number;
  time: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

const WG = 64;
/** Workgroup memory per program, in floats: 16 KiB, what WebGPU guarantees. */
const SHARED_FLOATS = 4096;

/**
 * WGSL shared by the four programs: the shape as constants, indexing into [B, T, heads * D]
 * tensors, NeoX RoPE from the cos/sin tables (C, S: [T, D/2]), and this workgroup's rows
 * (one row per invocation, `WG` consecutive positions of one batch and head).
 */
function prelude(s: AttentionShape, heads: number): string {
  const half = s.headDim / 2;
  return `
    const T = ${s.time};
    const H = ${s.heads};
    const HKV = ${s.kvHeads};
    const GROUP = ${s.heads / s.kvHeads};
    const D = ${s.headDim};
    const HALF = ${half};
    const WG = ${WG};
    const NB = ${Math.ceil(s.time / WG)};
    const SCALE = ${f32Literal(1 / Math.sqrt(s.headDim))};
    const ROWHEADS = ${heads};
    var<workgroup> workgroupIndex : i32;
    fn qAt(b : i32, t : i32, h : i32, c : i32) -> i32 { return ((b * T + t) * H + h) * D + c; }
    fn kAt(b : i32, t : i32, g : i32, c : i32) -> i32 { return ((b * T + t) * HKV + g) * D + c; }
    // rotated pair (c, c + HALF) of x at position t
    fn rope(a : f32, b : f32, t : i32, c : i32) -> vec2<f32> {
      let cs = C[t * HALF + c];
      let sn = S[t * HALF + c];
      return vec2<f32>(a * cs - b * sn, a * sn + b * cs);
    }
    // the transpose of that rotation (the gradient's way back)
    fn unrope(a : f32, b : f32, t : i32, c : i32) -> vec2<f32> {
      let cs = C[t * HALF + c];
      let sn = S[t * HALF + c];
      return vec2<f32>(a * cs + b * sn, b * cs - a * sn);
    }
  `;
}

/** Decodes workgroupId into (batch, head, block) for programs with one row per invocation. */
const ROWS = `
    // tfjs binds its uniform buffer to every program: the layout must see it used
    _ = uniforms.outShape;
    let lid = i32(localId.x);
    // through workgroup memory: the barriers below need the workgroup's index known to be uniform
    if (lid == 0) { workgroupIndex = groupIndex(); }
    let wid = workgroupUniformLoad(&workgroupIndex);
    let blk = wid % NB;
    let bh = wid / NB;
    let b = bh / ROWHEADS;
    let h = bh % ROWHEADS;
    let t = blk * WG + lid;
    let live = t < T && wid < WORKGROUPS;
    let tr = min(t, T - 1);
`;

/** Loads keys (rotated), and values when asked, of positions j0.. into ks/vs: KT rows. */
const loadKv = (values: boolean): string => `
      workgroupBarrier();
      for (var e = lid; e < KT * HALF; e = e + WG) {
        let r = e / HALF;
        let c = e % HALF;
        let j = min(j0 + r, T - 1);
        let kr = rope(K[kAt(b, j, g, c)], K[kAt(b, j, g, c + HALF)], j, c);
        ks[r * D + c] = kr.x;
        ks[r * D + c + HALF] = kr.y;
        ${values ? 'vs[r * D + c] = V[kAt(b, j, g, c)];\n        vs[r * D + c + HALF] = V[kAt(b, j, g, c + HALF)];' : ''}
      }
      workgroupBarrier();
`;

/** Row `head` of `src` at this invocation's position (clamped), rotated, into a new array `name`. */
const rotatedRow = (name: string, src: string, at: string, head: string): string => `
    var ${name} : array<f32, D>;
    for (var c = 0; c < HALF; c = c + 1) {
      let r = rope(${src}[${at}(b, tr, ${head}, c)], ${src}[${at}(b, tr, ${head}, c + HALF)], tr, c);
      ${name}[c] = r.x;
      ${name}[c + HALF] = r.y;
    }
`;

/** SCALE · `grad` rotated back (RoPE's transpose) into row `head` of result at this position. */
const writeUnrotated = (grad: string, at: string, head: string): string => `
      if (live) {
        for (var c = 0; c < HALF; c = c + 1) {
          let r = unrope(${grad}[c] * SCALE, ${grad}[c + HALF] * SCALE, t, c);
          result[${at}(b, t, ${head}, c)] = r.x;
          result[${at}(b, t, ${head}, c + HALF)] = r.y;
        }
      }
`;

/**
 * A program with one query row per invocation (forward, statistics, dQ): its rotated row in q,
 * then `before`, `tile` once per tile of KT keys (ks, and vs when `values`, loaded) up to the
 * workgroup's last position, and `after`.
 */
function queryRowProgram(s: AttentionShape, values: boolean, before: string, tile: string, after: string): string {
  const kt = Math.max(1, Math.floor(SHARED_FLOATS / (2 * s.headDim)));
  return `${prelude(s, s.heads)}
    const KT = ${kt};
    var<workgroup> ks : array<f32, ${kt * s.headDim}>;
    ${values ? `var<workgroup> vs : array<f32, ${kt * s.headDim}>;` : ''}
    fn main(index : i32) {
      ${ROWS}
      let g = h / GROUP;
      ${rotatedRow('q', 'Q', 'qAt', 'h')}
      ${before}
      let last = min(blk * WG + WG, T);
      for (var j0 = 0; j0 < last; j0 = j0 + KT) {
        ${loadKv(values)}
        ${tile}
      }
      ${after}
    }`;
}

function forwardCode(s: AttentionShape): string {
  return queryRowProgram(
    s,
    true,
    `var acc : array<f32, D>;
      var m = -3.0e38;
      var l = 0.0;`,
    `var sc : array<f32, KT>;
        var mt = m;
        for (var r = 0; r < KT; r = r + 1) {
          if (j0 + r <= t) {
            var dot = 0.0;
            for (var c = 0; c < D; c = c + 1) { dot = dot + q[c] * ks[r * D + c]; }
            sc[r] = dot * SCALE;
            mt = max(mt, sc[r]);
          }
        }
        let corr = exp(m - mt);
        l = l * corr;
        for (var c = 0; c < D; c = c + 1) { acc[c] = acc[c] * corr; }
        for (var r = 0; r < KT; r = r + 1) {
          if (j0 + r <= t) {
            let p = exp(sc[r] - mt);
            l = l + p;
            for (var c = 0; c < D; c = c + 1) { acc[c] = acc[c] + p * vs[r * D + c]; }
          }
        }
        m = mt;`,
    `if (live) {
        for (var c = 0; c < D; c = c + 1) { result[qAt(b, t, h, c)] = acc[c] / l; }
      }`,
  );
}

/** Per query row: the softmax's log normalizer L and Δ = dO · O, as [B, H, T, 2]. */
function statsCode(s: AttentionShape): string {
  return queryRowProgram(
    s,
    false,
    `var m = -3.0e38;
      var l = 0.0;`,
    `for (var r = 0; r < KT; r = r + 1) {
          if (j0 + r <= t) {
            var dot = 0.0;
            for (var c = 0; c < D; c = c + 1) { dot = dot + q[c] * ks[r * D + c]; }
            let sc = dot * SCALE;
            let mt = max(m, sc);
            l = l * exp(m - mt) + exp(sc - mt);
            m = mt;
          }
        }`,
    `var delta = 0.0;
      for (var c = 0; c < D; c = c + 1) { delta = delta + DO[qAt(b, tr, h, c)] * O[qAt(b, tr, h, c)]; }
      if (live) {
        let at = ((b * H + h) * T + t) * 2;
        result[at] = m + log(l);
        result[at + 1] = delta;
      }`,
  );
}

/** dQ: per query row, over the keys it saw, dS = P ⊙ (dO·Vᵀ − Δ), dQ = SCALE · dS·K, rotated back. */
function dqCode(s: AttentionShape): string {
  return queryRowProgram(
    s,
    true,
    `var dO : array<f32, D>;
      for (var c = 0; c < D; c = c + 1) { dO[c] = DO[qAt(b, tr, h, c)]; }
      let st = ((b * H + h) * T + tr) * 2;
      let lse = ST[st];
      let delta = ST[st + 1];
      var dq : array<f32, D>;`,
    `for (var r = 0; r < KT; r = r + 1) {
          if (j0 + r <= t) {
            var dot = 0.0;
            var dp = 0.0;
            for (var c = 0; c < D; c = c + 1) {
              dot = dot + q[c] * ks[r * D + c];
              dp = dp + dO[c] * vs[r * D + c];
            }
            let ds = exp(dot * SCALE - lse) * (dp - delta);
            for (var c = 0; c < D; c = c + 1) { dq[c] = dq[c] + ds * ks[r * D + c]; }
          }
        }`,
    writeUnrotated('dq', 'qAt', 'h'),
  );
}

/**
 * dK or dV: per key row (of one key/value head), over the queries of its GROUP query heads that
 * saw it. dV = Pᵀ·dO; dK = SCALE · dSᵀ·Q, rotated back.
 */
function dkvCode(s: AttentionShape, which: 'k' | 'v'): string {
  const qt = Math.max(1, Math.floor((SHARED_FLOATS - 64) / (2 * s.headDim + 2)));
  const body =
    which === 'v'
      ? `let p = exp(dot * SCALE - qst[2 * r]);
              for (var c = 0; c < D; c = c + 1) { acc[c] = acc[c] + p * dos[r * D + c]; }`
      : `var dp = 0.0;
              for (var c = 0; c < D; c = c + 1) { dp = dp + dos[r * D + c] * v[c]; }
              let ds = exp(dot * SCALE - qst[2 * r]) * (dp - qst[2 * r + 1]);
              for (var c = 0; c < D; c = c + 1) { acc[c] = acc[c] + ds * qs[r * D + c]; }`;
  const write =
    which === 'v'
      ? `if (live) {
          for (var c = 0; c < D; c = c + 1) { result[kAt(b, t, g, c)] = acc[c]; }
        }`
      : writeUnrotated('acc', 'kAt', 'g');
  return `${prelude(s, s.kvHeads)}
    const QT = ${qt};
    var<workgroup> qs : array<f32, ${qt * s.headDim}>;
    var<workgroup> dos : array<f32, ${qt * s.headDim}>;
    var<workgroup> qst : array<f32, ${2 * qt}>;
    fn main(index : i32) {
      ${ROWS}
      let g = h;
      ${rotatedRow('k', 'K', 'kAt', 'g')}
      ${which === 'k' ? 'var v : array<f32, D>;\n      for (var c = 0; c < D; c = c + 1) { v[c] = V[kAt(b, tr, g, c)]; }' : ''}
      var acc : array<f32, D>;
      for (var hq = g * GROUP; hq < g * GROUP + GROUP; hq = hq + 1) {
        for (var i0 = blk * WG; i0 < T; i0 = i0 + QT) {
          workgroupBarrier();
          for (var e = lid; e < QT * HALF; e = e + WG) {
            let r = e / HALF;
            let c = e % HALF;
            let i = min(i0 + r, T - 1);
            let qr = rope(Q[qAt(b, i, hq, c)], Q[qAt(b, i, hq, c + HALF)], i, c);
            qs[r * D + c] = qr.x;
            qs[r * D + c + HALF] = qr.y;
            dos[r * D + c] = DO[qAt(b, i, hq, c)];
            dos[r * D + c + HALF] = DO[qAt(b, i, hq, c + HALF)];
          }
          for (var e = lid; e < QT * 2; e = e + WG) {
            let i = min(i0 + e / 2, T - 1);
            qst[e] = ST[((b * H + hq) * T + i) * 2 + e % 2];
          }
          workgroupBarrier();
          for (var r = 0; r < QT; r = r + 1) {
            if (i0 + r >= t && i0 + r < T) {
              var dot = 0.0;
              for (var c = 0; c < D; c = c + 1) { dot = dot + qs[r * D + c] * k[c]; }
              ${body}
            }
          }
        }
      }
      ${write}
    }`;
}

/**
 * Causal attention with NeoX RoPE and grouped key/value heads on tfjs-webgpu, flash-attention
 * style: q [B, T, heads·D], k and v [B, T, kvHeads·D] in, [B, T, heads·D] out, one dispatch
 * forward (no [T, T] scores in memory; an online softmax over key tiles in workgroup memory) and
 * four backward (the row statistics, dQ, dK, dV, each recomputing the probabilities). Equals
 * CausalAttention's tfjs operations within float rounding.
 */
export function causalAttentionFused(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  s: Omit<AttentionShape, 'batch' | 'time'>,
  ropeTheta: number,
  ropeFreqFactors?: ArrayLike<number>,
): tf.Tensor3D {
  const [batch, time] = q.shape;
  const shape: AttentionShape = { ...s, batch, time };
  const key = `${batch}x${time}x${s.heads}x${s.kvHeads}x${s.headDim}`;
  const rows = (heads: number): number => batch * heads * Math.ceil(time / WG);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, ki, vi, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const [cos, sin] = ropeTables(time, s.headDim, ropeTheta, ropeFreqFactors);
    const value = runCustomProgram<tf.Rank.R3>({
      name: `attn_fwd_${key}`,
      inputs: { Q: qi, K: ki, V: vi, C: cos, S: sin },
      outputShape: qi.shape,
      workgroups: rows(s.heads),
      workgroupSize: WG,
      code: () => forwardCode(shape),
    });
    save([qi, ki, vi, value, cos, sin]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, o, c, sn] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const stats = runCustomProgram({
            name: `attn_stats_${key}`,
            inputs: { Q: qs, K: ks, C: c, S: sn, DO: dy, O: o },
            outputShape: [batch, s.heads, time, 2],
            workgroups: rows(s.heads),
            workgroupSize: WG,
            code: () => statsCode(shape),
          });
          const inputs = { Q: qs, K: ks, V: vs, C: c, S: sn, DO: dy, ST: stats };
          const dq = runCustomProgram({
            name: `attn_dq_${key}`,
            inputs,
            outputShape: qs.shape,
            workgroups: rows(s.heads),
            workgroupSize: WG,
            code: () => dqCode(shape),
          });
          const dk = runCustomProgram({
            name: `attn_dk_${key}`,
            inputs,
            outputShape: ks.shape,
            workgroups: rows(s.kvHeads),
            workgroupSize: WG,
            code: () => dkvCode(shape, 'k'),
          });
          // dV reads no values: a binding the shader does not use would not be in its layout
          const { V: _unused, ...noValues } = inputs;
          const dv = runCustomProgram({
            name: `attn_dv_${key}`,
            inputs: noValues,
            outputShape: ks.shape,
            workgroups: rows(s.kvHeads),
            workgroupSize: WG,
            code: () => dkvCode(shape, 'v'),
          });
          return [dq, dk, dv];
        }),
    };
  });
  return f(q, k, v);
}
