// Issue #16 acceptance: the loss curve over the first 100 steps of a tiny bitnet-lm recipe on the
// webgpu backend (every fused WGSL path: AdamW, fake quantization, RMSNorm, attention, the
// reductions, the tiled matmul) follows the CPU backends' from the same seed. On Mesa's llvmpipe
// in CI. The step-to-step loss depends on the batch, so "at step 100" is the mean over steps
// 91-100. Ternary training amplifies rounding: a last-bit difference flips a weight's code and the
// runs drift apart, so two correct CPU backends (cpu, and wasm's XNNPACK with its own summation
// order) already differ by up to 2.7 % there (seed 0, measured). The webgpu curve must lie within
// 1 % of the band the two CPU curves span at step 100, and within 3 % of it at every step. The band
// is tfjs's own two CPU backends: wasm runs without the native GEMM and AdamW here (their own tests,
// test/nn/wasm-native-training.test.ts, hold them to tfjs-wasm within 1e-5 and 1e-7 per step).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('loss curve, webgpu against the cpu and wasm backends', () => {
  it('the same seed gives the same curve: within 1 % of the CPU band over steps 91-100, within 3 % at every step', () => {
    const out = execFileSync(process.execPath, ['dist/bench/loss-curve.js', '--backends', 'cpu,wasm,webgpu', '--steps', '100', '--wasm-native', 'off'], {
      encoding: 'utf8',
      env: { ...process.env, EGL_PLATFORM: 'surfaceless', BITNET_WEBGPU_FLAGS: 'backend=opengl' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 1_500_000,
    });
    const curves = JSON.parse(out.trim().split('\n').at(-1) as string) as Record<'cpu' | 'wasm' | 'webgpu', number[]>;
    for (const c of Object.values(curves)) expect(c).toHaveLength(100);
    const { cpu, wasm, webgpu } = curves;
    /** How far v lies outside [min(a, b), max(a, b)], relative to the band's nearer edge. */
    const outside = (v: number, a: number, b: number): number => {
      const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
      return v < lo ? (lo - v) / lo : v > hi ? (v - hi) / hi : 0;
    };
    const tail = (l: number[]): number => l.slice(90).reduce((a, b) => a + b, 0) / 10;
    expect(outside(tail(webgpu), tail(cpu), tail(wasm))).toBeLessThanOrEqual(0.01);
    webgpu.forEach((l, i) => expect(outside(l, cpu[i] as number, wasm[i] as number), `step ${i + 1}`).toBeLessThanOrEqual(0.03));
    // the band is a rounding band, not a license: the two CPU backends agree within 5 % at step 100
    expect(Math.abs(tail(wasm) - tail(cpu)) / tail(cpu)).toBeLessThanOrEqual(0.05);
    // it learns: from about ln(259) to well below
    expect(tail(cpu)).toBeLessThan((cpu[0] as number) * 0.65);
  });
});
