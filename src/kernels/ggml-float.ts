import { readFileSync } from 'node:fs';

/**
 * Float32 arithmetic as ggml's CPU code does it, to the bit: fused multiply-add, its vector
 * expf (ggml-cpu/vec.h, "adapted from arm limited optimized routine") and SiLU. ggml picks the
 * vector code by ISA, and its AVX-512 and AVX2 expf round differently, so both are here.
 */
export type GgmlIsa = 'avx512' | 'avx2';

const f32 = Math.fround;
/** fmaf: a * b + c rounded once to float32 (a, b, c float32 values). */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bits
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  // s is p + c rounded to double. If it lies exactly halfway between two floats (then 2s - r is
  // the other one), the double rounding may have gone the wrong way: the exact remainder decides.
  const other = 2 * s - r;
  if (f32(other) !== other) return r;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err === 0) return r;
  return err > 0 === other > r ? other : r;
}

const C1 = 0.9999994039535522; /* 0x1.ffffecp-1 */
const C2 = 0.4999912679195404; /* 0x1.fffdb6p-2 */
const C3 = 0.16668395698070526; /* 0x1.555e66p-3 */
const C4 = 0.04189976677298546; /* 0x1.573e2ep-5 */
const C5 = 0.008247390389442444; /* 0x1.0e402p-7 */
const LOG2E = 1.4426950216293335; /* 0x1.715476p0 */
const LN2_HI = 0.693145751953125; /* 0x1.62e4p-1 */
const LN2_LO = 1.428606765330187e-6; /* 0x1.7f7d1cp-20 */
const SHIFTER = 12582912.0; /* 0x1.8p23 */

function reduce(x: number): { n: number; z: number; b: number; u: number } {
  const z = fmaf(x, LOG2E, SHIFTER);
  const n = f32(z - SHIFTER);
  const b = fmaf(-n, LN2_LO, fmaf(-n, LN2_HI, x));
  return { n, z, b, u: f32(b * b) };
}

/** ggml_v_expf of the AVX-512 code path (scalef by 2^n). */
export function expfAvx512(x: number): number {
  if (Number.isNaN(x)) return x;
  const { n, b, u } = reduce(x);
  const j = fmaf(fmaf(fmaf(C5, b, C4), u, fmaf(C3, b, C2)), u, fmaf(C1, b, 1));
  if (Math.abs(n) > 192) return n <= 0 ? 0 : Infinity;
  return f32(j * 2 ** n);
}

/** ggml_v_expf of the AVX2 (and NEON) code path: k = 2^n, k + k * j, with a wide-range fallback. */
export function expfAvx2(x: number): number {
  if (Number.isNaN(x)) return x;
  const { n, b, u } = reduce(x);
  const j = fmaf(fmaf(fmaf(C5, b, C4), u, fmaf(C3, b, C2)), u, f32(C1 * b));
  if (Math.abs(n) <= 126) {
    const k = 2 ** n;
    return fmaf(j, k, k);
  }
  if (Math.abs(n) > 192) return n <= 0 ? 0 : Infinity;
  // |n| in (126, 192]: 2^n split as s1 * s2, s1 = 2^127 or 2^-125
  const s1 = n <= 0 ? 2 ** -125 : 2 ** 127;
  const s2 = 2 ** (n <= 0 ? n + 125 : n - 127);
  return f32(fmaf(s2, j, s2) * s1);
}

/** SiLU of one lane of ggml's vector code: x / (1 + expf(-x)). */
export function siluf(x: number, isa: GgmlIsa): number {
  const e = isa === 'avx512' ? expfAvx512(-x) : expfAvx2(-x);
  return f32(x / f32(1 + e));
}

let cpuFlags: Set<string> | undefined;

function hostFlags(): Set<string> {
  if (cpuFlags === undefined) {
    let text: string;
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
    cpuFlags = new Set((/^flags\s*:(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/));
  }
  return cpuFlags;
}

const AVX2_BUILD = ['avx2', 'fma', 'f16c', 'bmi2'];
const AVX512_BUILD = [...AVX2_BUILD, 'avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw'];

/**
 * The vector path of the CPU library llama.cpp loads here (its x86 builds: Skylake-X and newer
 * take the AVX-512 code, Haswell and Alder Lake the AVX2 code). CPUs without AVX2, FMA, F16C and
 * BMI2 load builds this emulation does not follow; they get 'avx2'.
 */
export function hostGgmlIsa(): GgmlIsa {
  const f = hostFlags();
  return AVX512_BUILD.every((x) => f.has(x)) ? 'avx512' : 'avx2';
}

/**
 * Whether llama.cpp here loads its Sapphire Rapids CPU library (AMX), which runs F16 weight
 * products (the output head) on its AMX buffer's AVX-512 kernel: float activations, one
 * 16-lane accumulator.
 */
export function hostGgmlAmx(): boolean {
  const f = hostFlags();
  return [...AVX512_BUILD, 'avx512vbmi', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8'].every((x) => f.has(x));
}
