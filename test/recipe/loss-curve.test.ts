// Issue #16 acceptance: the loss curve over the first 100 steps of a tiny bitnet-lm recipe on the
// webgpu backend (every fused WGSL path: AdamW, fake quantization, RMSNorm) matches the cpu
// backend's from the same seed. On Mesa's llvmpipe in CI. The step-to-step loss depends on the
// batch, so the comparison at step 100 is over steps 91-100.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('loss curve, webgpu against cpu', () => {
  it('the same seed gives the same curve: within 1 % over steps 91-100, within 3 % at every step', () => {
    const out = execFileSync(process.execPath, ['dist/bench/loss-curve.js', '--backends', 'cpu,webgpu', '--steps', '100'], {
      encoding: 'utf8',
      env: { ...process.env, EGL_PLATFORM: 'surfaceless', BITNET_WEBGPU_FLAGS: 'backend=opengl' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 900_000,
    });
    const { cpu, webgpu } = JSON.parse(out.trim().split('\n').at(-1) as string) as { cpu: number[]; webgpu: number[] };
    expect(cpu).toHaveLength(100);
    expect(webgpu).toHaveLength(100);
    const tail = (l: number[]): number => l.slice(90).reduce((a, b) => a + b, 0) / 10;
    expect(Math.abs(tail(webgpu) - tail(cpu)) / tail(cpu)).toBeLessThanOrEqual(0.01);
    webgpu.forEach((l, i) => expect(Math.abs(l - (cpu[i] as number)) / (cpu[i] as number)).toBeLessThanOrEqual(0.03));
    // it learns: from about ln(259) to well below
    expect(tail(cpu)).toBeLessThan((cpu[0] as number) * 0.65);
  });
});
