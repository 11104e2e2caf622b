import { cpus } from 'node:os';
import { z } from 'zod';
import { zodToBitNetError } from './config.js';
import { BitNetError } from './errors.js';

/** Kernel tiers, fastest first (src/kernels/registry.ts). */
export const KERNEL_TIERS = ['webgpu', 'native', 'wasm', 'reference'] as const;
export type KernelTierName = (typeof KERNEL_TIERS)[number];
export type KernelPreference = KernelTierName | 'auto';

/** Instruction-set paths of the native tier, x86-64 then ARM64 (`BITNET_NATIVE_ISA` forces one the CPU has; avx-vnni runs only when forced). */
export const NATIVE_ISAS = ['avx512-vnni', 'avx-vnni', 'avx2', 'i8mm', 'dotprod', 'neon', 'scalar'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

/**
 * How BitLinear computes in inference mode: 'auto' = the packed kernels on the cpu and wasm
 * backends and the WGSL kernels on webgpu; 'tfjs' = tfjs ops; 'kernels' = packed kernels always.
 */
export const INFERENCE_ENGINES = ['auto', 'tfjs', 'kernels'] as const;
export type InferenceEngine = (typeof INFERENCE_ENGINES)[number];

/** Fused training paths: WGSL on tfjs-webgpu, native on tfjs-wasm (each replaces tfjs operations; `BITNET_WEBGPU_UNFUSED` turns some off). */
export const FUSED_PATHS = ['adamw', 'fake-quant', 'rms-norm', 'attention', 'reductions', 'matmul', 'swiglu'] as const;
export type FusedPath = (typeof FUSED_PATHS)[number];

const positiveInteger = z.coerce.number().int().positive();

const SettingsSchema = z
  .object({
    /** BITNET_KERNEL: the kernel tier every path uses ('auto': the fastest that loads). */
    kernel: z.enum(['auto', ...KERNEL_TIERS]).default('auto'),
    /** BITNET_THREADS: threads of the native tier (default: the machine's cores). */
    threads: positiveInteger.optional(),
    /** BITNET_INFERENCE */
    inference: z.enum(INFERENCE_ENGINES).default('auto'),
    /** BITNET_NATIVE_ISA: the native path to run (the addon reads it when it loads). */
    nativeIsa: z.enum(NATIVE_ISAS).optional(),
    /** BITNET_WEBGPU_FLAGS: Dawn toggles, comma-separated (`backend=opengl`). */
    webgpuFlags: z.array(z.string()).default([]),
    /** BITNET_WEBGPU_UNFUSED: fused training paths to run as tfjs operations instead, comma-separated (on wasm, `matmul` and `adamw` also switch the native ones off). */
    unfused: z.array(z.enum(FUSED_PATHS)).default([]),
  })
  .strict();

export type BitnetSettings = z.infer<typeof SettingsSchema>;
export type BitnetSettingsInput = z.input<typeof SettingsSchema>;

const ENV_NAMES: Record<keyof BitnetSettings, string> = {
  kernel: 'BITNET_KERNEL',
  threads: 'BITNET_THREADS',
  inference: 'BITNET_INFERENCE',
  nativeIsa: 'BITNET_NATIVE_ISA',
  webgpuFlags: 'BITNET_WEBGPU_FLAGS',
  unfused: 'BITNET_WEBGPU_UNFUSED',
};

function parse(input: Record<string, unknown>, what: string): BitnetSettings {
  const result = SettingsSchema.safeParse(input);
  if (!result.success) throw zodToBitNetError(result.error, what);
  return result.data;
}

/** Settings from environment variables (BITNET_KERNEL, BITNET_THREADS, ...); an invalid value is an INVALID_CONFIG error naming the variable. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): BitnetSettings {
  const input: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    input[key] = key === 'webgpuFlags' || key === 'unfused' ? value.split(',').filter((f) => f !== '') : value;
  }
  const result = SettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '') as keyof BitnetSettings;
    return { name: ENV_NAMES[key] ?? key, message: issue.message };
  });
  throw new BitNetError('INVALID_CONFIG', `invalid environment:\n  ${problems.map((p) => `${p.name}=${String(env[p.name])}: ${p.message}`).join('\n  ')}`, {
    field: problems[0]?.name,
    hint: 'unset the variable, or give one of the values listed',
    cause: result.error,
  });
}

let current: BitnetSettings | undefined;

/** The settings in force: the environment, read once, then whatever configure() changed. */
export function settings(): BitnetSettings {
  current ??= settingsFromEnv();
  return current;
}

/** Overrides settings for this process (library callers; the CLI's flags). */
export function configure(overrides: BitnetSettingsInput): BitnetSettings {
  current = parse({ ...settings(), ...overrides }, 'settings');
  return current;
}

/** Threads for large native problems: the `threads` setting, else the machine's cores. */
export function defaultThreads(): number {
  return settings().threads ?? Math.max(1, cpus().length);
}

/** Below this many multiply-adds a native call stays on one thread (waking workers costs more). */
const THREADING_THRESHOLD = 1 << 22;

/** Threads for a native call of `multiplyAdds` (`threads` when given, else defaultThreads()). */
export function threadsFor(multiplyAdds: number, threads?: number): number {
  return multiplyAdds >= THREADING_THRESHOLD ? (threads ?? defaultThreads()) : 1;
}
