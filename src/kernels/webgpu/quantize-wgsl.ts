/*
 * Absmax int8 activation quantization on the GPU, bit for bit as src/quant/activation.ts computes
 * it on the CPU (per token): s = f32(f32(1 / max(absmax, eps)) * Qp), q = clamp(round_even(x s)),
 * and post = f32(beta * f32(1 / s)) for the GEMM's float epilogue.
 *
 * WGSL's division may be off by 2.5 ulp, so the two reciprocals are done in integers: for a normal
 * float m = M 2^(e-150) (M the 24-bit significand), 1/m = (2^47 / M) 2^(103-e), and long division
 * gives the quotient's 24 bits and a remainder that decides the rounding (a reciprocal is never
 * exactly halfway between two floats). Products, abs, max and round() are exact or correctly
 * rounded in WGSL.
 */
export const QUANTIZE_WGSL = /* wgsl */ `
struct QShape { inFeatures: u32, xWords: u32, beta: f32, eps: f32, qmax: f32, qmin: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> post: array<f32>;
@group(0) @binding(3) var<uniform> shape: QShape;
var<workgroup> red: array<f32, 128>;

// Correctly rounded 1 / m for a positive normal float whose reciprocal is normal.
fn reciprocal(m: f32) -> f32 {
  let bits = bitcast<u32>(m);
  let e = (bits >> 23u) & 0xffu;
  let mant = (bits & 0x7fffffu) | 0x800000u;
  if (mant == 0x800000u) { return bitcast<f32>((254u - e) << 23u); }
  var q = 1u;
  var rem = 0x1000000u - mant;
  for (var i = 0u; i < 23u; i = i + 1u) {
    rem = rem << 1u;
    q = q << 1u;
    if (rem >= mant) { rem = rem - mant; q = q | 1u; }
  }
  var exponent = 253u - e;
  if (2u * rem > mant) { q = q + 1u; }
  if (q == 0x1000000u) { q = 0x800000u; exponent = exponent + 1u; }
  return bitcast<f32>((exponent << 23u) | (q & 0x7fffffu));
}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wg.x;
  let row = b * shape.inFeatures;
  var m = 0.0;
  for (var i = lid; i < shape.inFeatures; i = i + 128u) { m = max(m, abs(src[row + i])); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let scale = reciprocal(max(red[0], shape.eps)) * shape.qmax;
  if (lid == 0u) { post[b] = shape.beta * reciprocal(scale); }
  for (var w = lid; w < shape.xWords; w = w + 128u) {
    var word = 0u;
    for (var k = 0u; k < 4u; k = k + 1u) {
      let col = 4u * w + k;
      if (col < shape.inFeatures) {
        let v = i32(clamp(round(src[row + col] * scale), shape.qmin, shape.qmax));
        word = word | ((bitcast<u32>(v) & 0xffu) << (8u * k));
      }
    }
    packed[b * shape.xWords + w] = word;
  }
}
`;
