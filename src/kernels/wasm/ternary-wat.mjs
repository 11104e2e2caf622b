// Source of the WebAssembly SIMD128 ternary GEMM kernel. It is WAT (WebAssembly text), written
// here as a template so the 4-way batch tile is spelled out once; scripts/build-wasm.mjs turns it
// into build/ternary.wasm with wabt at build time.
//
// gemm(codes, rows, paddedCols, x, batch, groupCols, out): see src/kernels/types.ts.
// Per row r, batch rows are taken 4 at a time; for each 32-column plane p of the row (block p>>3,
// half (p>>2)&1, 2-bit field p&3 of 32 code bytes) the codes are decoded once to four i16x8
// vectors of -1/0/1 and multiplied with each batch row's 32 int8 values by i32x4.dot_i16x8_s.

const LANES = [0, 1, 2, 3];

export function ternaryWat() {
  const lane = (t) => `
          ;; batch lane ${t}
          (local.set $xa (v128.load (i32.add (local.get $xp${t}) (local.get $xo))))
          (local.set $xb (v128.load offset=16 (i32.add (local.get $xp${t}) (local.get $xo))))
          (local.set $a${t} (i32x4.add (local.get $a${t}) (i32x4.add
            (i32x4.add (i32x4.dot_i16x8_s (local.get $w0) (i16x8.extend_low_i8x16_s (local.get $xa)))
                       (i32x4.dot_i16x8_s (local.get $w1) (i16x8.extend_high_i8x16_s (local.get $xa))))
            (i32x4.add (i32x4.dot_i16x8_s (local.get $w2) (i16x8.extend_low_i8x16_s (local.get $xb)))
                       (i32x4.dot_i16x8_s (local.get $w3) (i16x8.extend_high_i8x16_s (local.get $xb)))))))`;
  const store = (t) => `
            (if (i32.lt_u (i32.add (local.get $b0) (i32.const ${t})) (local.get $batch))
              (then
                (i32.store
                  (i32.add (local.get $out)
                    (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $b0) (i32.const ${t})) (local.get $rows)) (local.get $r)) (local.get $groups)) (local.get $g)) (i32.const 2)))
                  (call $hsum (local.get $a${t})))))
            (local.set $a${t} (v128.const i32x4 0 0 0 0))`;
  const xptr = (t) => `
        (local.set $xp${t} (i32.add (local.get $x) (i32.mul (local.get $cols)
          (select (i32.add (local.get $b0) (i32.const ${t})) (i32.sub (local.get $batch) (i32.const 1))
            (i32.lt_u (i32.add (local.get $b0) (i32.const ${t})) (local.get $batch))))))`;
  return `(module
  (memory (export "memory") 1)
  (func $hsum (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
  (func (export "gemm")
    (param $codes i32) (param $rows i32) (param $cols i32) (param $x i32) (param $batch i32) (param $gcols i32) (param $out i32)
    (local $rowBytes i32) (local $groups i32) (local $planes i32) (local $perGroup i32)
    (local $r i32) (local $b0 i32) (local $p i32) (local $g i32) (local $inGroup i32)
    (local $rowPtr i32) (local $cp i32) (local $xo i32) (local $shift i32)
    ${LANES.map((t) => `(local $xp${t} i32)`).join(' ')}
    ${LANES.map((t) => `(local $a${t} v128)`).join(' ')}
    (local $c0 v128) (local $c1 v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $xa v128) (local $xb v128)
    (local.set $rowBytes (i32.shr_u (local.get $cols) (i32.const 2)))
    (local.set $groups (i32.div_u (local.get $cols) (local.get $gcols)))
    (local.set $planes (i32.shr_u (local.get $cols) (i32.const 5)))
    (local.set $perGroup (i32.shr_u (local.get $gcols) (i32.const 5)))
    (local.set $r (i32.const 0))
    (block $rowsDone (loop $rowLoop
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $rowPtr (i32.add (local.get $codes) (i32.mul (local.get $r) (local.get $rowBytes))))
      (local.set $b0 (i32.const 0))
      (block $batchDone (loop $batchLoop
        (br_if $batchDone (i32.ge_u (local.get $b0) (local.get $batch)))
        ${LANES.map(xptr).join('')}
        ${LANES.map((t) => `(local.set $a${t} (v128.const i32x4 0 0 0 0))`).join(' ')}
        (local.set $p (i32.const 0))
        (local.set $g (i32.const 0))
        (local.set $inGroup (i32.const 0))
        (block $planesDone (loop $planeLoop
          (br_if $planesDone (i32.ge_u (local.get $p) (local.get $planes)))
          ;; code bytes of plane p: block p>>3, half (p>>2)&1; field p&3
          (local.set $cp (i32.add (local.get $rowPtr)
            (i32.add (i32.shl (i32.shr_u (local.get $p) (i32.const 3)) (i32.const 6))
                     (i32.shl (i32.and (i32.shr_u (local.get $p) (i32.const 2)) (i32.const 1)) (i32.const 5)))))
          (local.set $shift (i32.shl (i32.and (local.get $p) (i32.const 3)) (i32.const 1)))
          (local.set $c0 (i8x16.sub
            (v128.and (i8x16.shr_u (v128.load (local.get $cp)) (local.get $shift)) (v128.const i8x16 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3))
            (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))
          (local.set $c1 (i8x16.sub
            (v128.and (i8x16.shr_u (v128.load offset=16 (local.get $cp)) (local.get $shift)) (v128.const i8x16 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3))
            (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))
          (local.set $w0 (i16x8.extend_low_i8x16_s (local.get $c0)))
          (local.set $w1 (i16x8.extend_high_i8x16_s (local.get $c0)))
          (local.set $w2 (i16x8.extend_low_i8x16_s (local.get $c1)))
          (local.set $w3 (i16x8.extend_high_i8x16_s (local.get $c1)))
          (local.set $xo (i32.shl (local.get $p) (i32.const 5)))
          ${LANES.map(lane).join('')}
          (local.set $inGroup (i32.add (local.get $inGroup) (i32.const 1)))
          (if (i32.eq (local.get $inGroup) (local.get $perGroup))
            (then
              ${LANES.map(store).join('')}
              (local.set $inGroup (i32.const 0))
              (local.set $g (i32.add (local.get $g) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $planeLoop)))
        (local.set $b0 (i32.add (local.get $b0) (i32.const 4)))
        (br $batchLoop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rowLoop))))
)
`;
}
