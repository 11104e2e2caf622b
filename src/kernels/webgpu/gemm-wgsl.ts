/*
 * WGSL ternary x int8 products on this project's packed layout (TQ2_0 `qs` order, rows padded to
 * 256; src/kernels/types.ts). Activations arrive packed, four int8 per u32 word, in column order.
 *
 * A code word holds 16 weights: byte k of word w in a 256-column block sits at byte 4w + k of the
 * block, so field j of the four bytes covers four consecutive columns, 32 j apart: masking field j
 * of the whole word (>> 2j & 0x03030303) gives codes 0..2 for four consecutive columns, which
 * ((c | 0x80808080) - 0x01010101) ^ 0x80808080 turns into signed bytes -1..1 without carries;
 * dot4I8Packed then multiplies them with one word of activations.
 *
 * Both kernels end the same way: mode 0 stores the exact int32 sums; mode 1 stores float32
 * f32(acc) * post[b] (post = beta / s per batch row, written by the quantize kernel), one group.
 */

const COMMON = /* wgsl */ `
struct Shape { rows: u32, wordsPerRow: u32, batch: u32, groups: u32, wordsPerGroup: u32, xWords: u32, mode: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> codes: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> shape: Shape;
@group(0) @binding(4) var<storage, read> post: array<f32>;

fn signedField(word: u32, j: u32) -> u32 {
  let c = (word >> (2u * j)) & 0x03030303u;
  return ((c | 0x80808080u) - 0x01010101u) ^ 0x80808080u;
}

// The activation word holding columns 32 j + 4 k' .. of the word's columns: word w of a 256-column
// block starts at column 128 (w / 8) + 4 (w % 8).
fn xWordOf(w: u32, j: u32) -> u32 {
  return (w / 16u) * 64u + ((w % 16u) / 8u) * 32u + (w % 8u) + 8u * j;
}

fn store(b: u32, row: u32, g: u32, acc: i32) {
  let i = (b * shape.rows + row) * shape.groups + g;
  if (shape.mode == 0u) { out[i] = bitcast<u32>(acc); } else { out[i] = bitcast<u32>(f32(acc) * post[b]); }
}
`;

/** One workgroup of 64 per (row, batch row, group): batch 1 and small batches. */
export const GEMV_WGSL = /* wgsl */ `${COMMON}
var<workgroup> partial: array<i32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  let b = wg.y;
  let g = wg.z;
  let first = g * shape.wordsPerGroup;
  var acc: i32 = 0;
  for (var w = first + lid; w < first + shape.wordsPerGroup; w = w + 64u) {
    let word = codes[row * shape.wordsPerRow + w];
    for (var j = 0u; j < 4u; j = j + 1u) {
      acc = acc + dot4I8Packed(signedField(word, j), x[b * shape.xWords + xWordOf(w, j)]);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { store(b, row, g, partial[0]); }
}
`;

/**
 * Tiles of 32 rows x `batch` batch rows per workgroup of 128 invocations (WebGPU's compatibility
 * limit), in one of two shapes:
 * - batch 32: 4 groups of 8 batch rows; each invocation keeps one row x 8 batch rows of sums.
 * - batch 8, split K: the 4 groups take every 4th 256-column block of the row (1 row x 8 batch
 *   rows each) and add their sums in shared memory at the end; 4x less work per invocation,
 *   for batches of a few rows. Whole rows only (one group).
 * Each step stages the activations of the blocks it works on in shared memory; every code word
 * read is used 32 times (4 fields x 8 batch rows).
 */
export interface GemmTile {
  readonly rows: 32;
  readonly batch: 8 | 32;
  readonly kSplit: 1 | 4;
}

export const GEMM_TILES = { wide: { rows: 32, batch: 32, kSplit: 1 }, splitK: { rows: 32, batch: 8, kSplit: 4 } } as const satisfies Record<string, GemmTile>;

export function gemmWgsl(tile: GemmTile): string {
  const { batch: tb, kSplit: ks } = tile;
  const bqs = tb / 8;
  return /* wgsl */ `${COMMON}
var<workgroup> xs: array<u32, 2048>;

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x * 32u + lid % 32u;
  let bq = (lid / 32u) % ${bqs}u;
  let kq = lid / ${32 * bqs}u;
  let b0 = wg.y * ${tb}u;
  let live = row < shape.rows && b0 + bq * 8u < shape.batch;
  var lo = vec4<i32>(0);
  var hi = vec4<i32>(0);
  let blocks = shape.wordsPerRow / 16u;
  let blocksPerGroup = shape.wordsPerGroup / 16u;
  for (var step = 0u; step * ${ks}u < blocks; step = step + 1u) {
    // xs[(k * ${tb} + b) * 64 + word]: activations of block step * ${ks} + k for batch row b
    for (var i = 0u; i < 16u; i = i + 1u) {
      let idx = lid + i * 128u;
      let blkI = step * ${ks}u + idx / ${tb * 64}u;
      let b = b0 + (idx / 64u) % ${tb}u;
      xs[idx] = select(0u, x[b * shape.xWords + blkI * 64u + idx % 64u], b < shape.batch && blkI < blocks);
    }
    workgroupBarrier();
    let blk = step * ${ks}u + kq;
    if (live && blk < blocks) {
      let base = row * shape.wordsPerRow + blk * 16u;
      for (var w = 0u; w < 16u; w = w + 1u) {
        let word = codes[base + w];
        for (var j = 0u; j < 4u; j = j + 1u) {
          let q = signedField(word, j);
          let xb = (kq * ${tb}u + bq * 8u) * 64u + xWordOf(w, j);
          lo = lo + vec4<i32>(dot4I8Packed(q, xs[xb]), dot4I8Packed(q, xs[xb + 64u]), dot4I8Packed(q, xs[xb + 128u]), dot4I8Packed(q, xs[xb + 192u]));
          hi = hi + vec4<i32>(dot4I8Packed(q, xs[xb + 256u]), dot4I8Packed(q, xs[xb + 320u]), dot4I8Packed(q, xs[xb + 384u]), dot4I8Packed(q, xs[xb + 448u]));
        }
      }
    }
    workgroupBarrier();
${
  ks === 1
    ? `    if ((blk + 1u) % blocksPerGroup == 0u) {
      if (live) {
        let g = blk / blocksPerGroup;
        for (var t = 0u; t < 8u; t = t + 1u) {
          let b = b0 + bq * 8u + t;
          if (b < shape.batch) { store(b, row, g, select(hi[t % 4u], lo[t % 4u], t < 4u)); }
        }
      }
      lo = vec4<i32>(0);
      hi = vec4<i32>(0);
    }
  }`
    : `  }
  // the ${ks} K-parts of each (row, batch row) meet in shared memory
  for (var t = 0u; t < 8u; t = t + 1u) { xs[(kq * 32u + lid % 32u) * 8u + t] = bitcast<u32>(select(hi[t % 4u], lo[t % 4u], t < 4u)); }
  workgroupBarrier();
  if (kq == 0u && live) {
    for (var t = 0u; t < 8u; t = t + 1u) {
      var sum = 0;
      for (var k = 0u; k < ${ks}u; k = k + 1u) { sum = sum + bitcast<i32>(xs[(k * 32u + lid % 32u) * 8u + t]); }
      let b = b0 + t;
      if (b < shape.batch) { store(b, row, 0u, sum); }
    }
  }`
}
}
`;
}
