// Source of the WebAssembly SIMD128 ternary GEMM kernel. It is WAT (WebAssembly text), written as
// a template so the batch tiles are spelled out once; scripts/build-wasm.mjs turns it into
// build/ternary.wasm with wabt at build time.
//
// gemm(codes, rows, paddedCols, x16, xsum, batch, groupCols, out) (see src/kernels/types.ts), with
// the activations already widened to int16 (x16: batch * paddedCols) and xsum[b][g] the sum of x
// over each group. For each 32-column plane p of a row (block p>>3, half (p>>2)&1, 2-bit field p&3
// of 32 code bytes) the codes 0/1/2 are decoded once to four i16x8 vectors and multiplied with
// each batch row's 32 int16 values by i32x4.dot_i16x8_s; sum(code * x) - sum(x) = sum(q * x).
// Batch rows go 4 at a time, then 1 at a time for the rest (GEMV is the 1-row tile).

/** Stores lane t's group sum minus sum(x) of the group, then clears the accumulator. */
const store = (t) => `
          (local.set $o (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $b0) (i32.const ${t})) (local.get $rows)) (local.get $r)) (local.get $groups)) (local.get $g)))
          (i32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))
            (i32.sub (call $hsum (local.get $a${t}))
              (i32.load (i32.add (local.get $xsum) (i32.shl (i32.add (i32.mul (i32.add (local.get $b0) (i32.const ${t})) (local.get $groups)) (local.get $g)) (i32.const 2))))))
          (local.set $a${t} (v128.const i32x4 0 0 0 0))`;

/** After each plane or half block: at the end of a group, store every lane and move to the next group. */
const groupEnd = (lanes) => `(local.set $inGroup (i32.add (local.get $inGroup) (i32.const 1)))
      (if (i32.eq (local.get $inGroup) (local.get $perGroup))
        (then
          ${lanes.map(store).join('')}
          (local.set $inGroup (i32.const 0))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))))`;

function tile(nt) {
  const lanes = [...Array(nt).keys()];
  const lane = (t) => `
          (local.set $xq (i32.add (local.get $xp${t}) (local.get $xo)))
          (local.set $a${t} (i32x4.add (local.get $a${t}) (i32x4.add
            (i32x4.add (i32x4.dot_i16x8_s (local.get $w0) (v128.load (local.get $xq)))
                       (i32x4.dot_i16x8_s (local.get $w1) (v128.load offset=16 (local.get $xq))))
            (i32x4.add (i32x4.dot_i16x8_s (local.get $w2) (v128.load offset=32 (local.get $xq)))
                       (i32x4.dot_i16x8_s (local.get $w3) (v128.load offset=48 (local.get $xq)))))))`;
  return `
  (func $tile${nt}
    (param $rowPtr i32) (param $r i32) (param $b0 i32) (param $rows i32) (param $cols i32) (param $x i32) (param $xsum i32) (param $gcols i32) (param $out i32)
    (local $groups i32) (local $planes i32) (local $perGroup i32) (local $p i32) (local $g i32) (local $inGroup i32)
    (local $cp i32) (local $xo i32) (local $shift i32) (local $xq i32) (local $o i32)
    ${lanes.map((t) => `(local $xp${t} i32) (local $a${t} v128)`).join(' ')}
    (local $c0 v128) (local $c1 v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local.set $groups (i32.div_u (local.get $cols) (local.get $gcols)))
    (local.set $planes (i32.shr_u (local.get $cols) (i32.const 5)))
    (local.set $perGroup (i32.shr_u (local.get $gcols) (i32.const 5)))
    ${lanes.map((t) => `(local.set $xp${t} (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $b0) (i32.const ${t})) (local.get $cols)) (i32.const 1))))`).join('\n    ')}
    (block $done (loop $plane
      (br_if $done (i32.ge_u (local.get $p) (local.get $planes)))
      (local.set $cp (i32.add (local.get $rowPtr)
        (i32.add (i32.shl (i32.shr_u (local.get $p) (i32.const 3)) (i32.const 6))
                 (i32.shl (i32.and (i32.shr_u (local.get $p) (i32.const 2)) (i32.const 1)) (i32.const 5)))))
      (local.set $shift (i32.shl (i32.and (local.get $p) (i32.const 3)) (i32.const 1)))
      (local.set $c0 (v128.and (i16x8.shr_u (v128.load (local.get $cp)) (local.get $shift)) (v128.const i8x16 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3)))
      (local.set $c1 (v128.and (i16x8.shr_u (v128.load offset=16 (local.get $cp)) (local.get $shift)) (v128.const i8x16 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3)))
      (local.set $w0 (i16x8.extend_low_i8x16_u (local.get $c0)))
      (local.set $w1 (i16x8.extend_high_i8x16_u (local.get $c0)))
      (local.set $w2 (i16x8.extend_low_i8x16_u (local.get $c1)))
      (local.set $w3 (i16x8.extend_high_i8x16_u (local.get $c1)))
      (local.set $xo (i32.shl (local.get $p) (i32.const 6)))
      ${lanes.map(lane).join('')}
      ${groupEnd(lanes)}
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $plane))))`;
}

// Groups of 128 columns or more: a half block (32 code bytes, 128 columns) at a time. The code
// bytes are widened to int16 once; field f is then taken in place by one AND with 3 << 2f, so its
// products with x are scaled by 4^f, and each field's partial sum is shifted back (exact).
function halfTile(nt) {
  const lanes = [...Array(nt).keys()];
  const field = (f, t) => `
          (local.set $s (i32x4.add
            (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $w0) (local.get $m)) (v128.load offset=${64 * f} (local.get $xq)))
                       (i32x4.dot_i16x8_s (v128.and (local.get $w1) (local.get $m)) (v128.load offset=${64 * f + 16} (local.get $xq))))
            (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $w2) (local.get $m)) (v128.load offset=${64 * f + 32} (local.get $xq)))
                       (i32x4.dot_i16x8_s (v128.and (local.get $w3) (local.get $m)) (v128.load offset=${64 * f + 48} (local.get $xq))))))
          (local.set $a${t} (i32x4.add (local.get $a${t}) ${f === 0 ? '(local.get $s)' : `(i32x4.shr_s (local.get $s) (i32.const ${2 * f}))`}))`;
  const fieldAll = (f) => `
        (local.set $m (v128.const i16x8 ${Array(8)
          .fill(3 << (2 * f))
          .join(' ')}))
        ${lanes.map((t) => `(local.set $xq (i32.add (local.get $xp${t}) (local.get $xo)))${field(f, t)}`).join('')}`;
  return `
  (func $half${nt}
    (param $rowPtr i32) (param $r i32) (param $b0 i32) (param $rows i32) (param $cols i32) (param $x i32) (param $xsum i32) (param $gcols i32) (param $out i32)
    (local $groups i32) (local $halves i32) (local $perGroup i32) (local $h i32) (local $g i32) (local $inGroup i32)
    (local $cp i32) (local $xo i32) (local $xq i32) (local $o i32)
    ${lanes.map((t) => `(local $xp${t} i32) (local $a${t} v128)`).join(' ')}
    (local $c v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $m v128) (local $s v128)
    (local.set $groups (i32.div_u (local.get $cols) (local.get $gcols)))
    (local.set $halves (i32.shr_u (local.get $cols) (i32.const 7)))
    (local.set $perGroup (i32.shr_u (local.get $gcols) (i32.const 7)))
    ${lanes.map((t) => `(local.set $xp${t} (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $b0) (i32.const ${t})) (local.get $cols)) (i32.const 1))))`).join('\n    ')}
    (block $done (loop $half
      (br_if $done (i32.ge_u (local.get $h) (local.get $halves)))
      (local.set $cp (i32.add (local.get $rowPtr) (i32.shl (local.get $h) (i32.const 5))))
      (local.set $c (v128.load (local.get $cp)))
      (local.set $w0 (i16x8.extend_low_i8x16_u (local.get $c)))
      (local.set $w1 (i16x8.extend_high_i8x16_u (local.get $c)))
      (local.set $c (v128.load offset=16 (local.get $cp)))
      (local.set $w2 (i16x8.extend_low_i8x16_u (local.get $c)))
      (local.set $w3 (i16x8.extend_high_i8x16_u (local.get $c)))
      (local.set $xo (i32.shl (local.get $h) (i32.const 8)))
      ${[0, 1, 2, 3].map(fieldAll).join('')}
      ${groupEnd(lanes)}
      (local.set $h (i32.add (local.get $h) (i32.const 1)))
      (br $half))))`;
}

export function ternaryWat() {
  return `(module
  (memory (export "memory") 1)
  (func $hsum (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
  ${tile(4)}
  ${tile(1)}
  ${halfTile(4)}
  ${halfTile(1)}
  (func (export "gemm")
    (param $codes i32) (param $rows i32) (param $cols i32) (param $x i32) (param $xsum i32) (param $batch i32) (param $gcols i32) (param $out i32)
    (local $r i32) (local $b0 i32) (local $rowPtr i32)
    (block $rowsDone (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $rowPtr (i32.add (local.get $codes) (i32.mul (local.get $r) (i32.shr_u (local.get $cols) (i32.const 2)))))
      (local.set $b0 (i32.const 0))
      (block $fours (loop $four
        (br_if $fours (i32.gt_u (i32.add (local.get $b0) (i32.const 4)) (local.get $batch)))
        (if (i32.and (local.get $gcols) (i32.const 127))
          (then (call $tile4 (local.get $rowPtr) (local.get $r) (local.get $b0) (local.get $rows) (local.get $cols) (local.get $x) (local.get $xsum) (local.get $gcols) (local.get $out)))
          (else (call $half4 (local.get $rowPtr) (local.get $r) (local.get $b0) (local.get $rows) (local.get $cols) (local.get $x) (local.get $xsum) (local.get $gcols) (local.get $out))))
        (local.set $b0 (i32.add (local.get $b0) (i32.const 4)))
        (br $four)))
      (block $ones (loop $one
        (br_if $ones (i32.ge_u (local.get $b0) (local.get $batch)))
        (if (i32.and (local.get $gcols) (i32.const 127))
          (then (call $tile1 (local.get $rowPtr) (local.get $r) (local.get $b0) (local.get $rows) (local.get $cols) (local.get $x) (local.get $xsum) (local.get $gcols) (local.get $out)))
          (else (call $half1 (local.get $rowPtr) (local.get $r) (local.get $b0) (local.get $rows) (local.get $cols) (local.get $x) (local.get $xsum) (local.get $gcols) (local.get $out))))
        (local.set $b0 (i32.add (local.get $b0) (i32.const 1)))
        (br $one)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))
)
`;
}
