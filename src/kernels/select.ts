import { cpus } from 'node:os';
import { BitNetError } from '../errors.js';
import { loadNativeTier } from './native/tier.js';
import { referenceTier } from './reference.js';
import type { KernelTier } from './types.js';
import { loadWasmTier } from './wasm/tier.js';

export const KERNEL_TIERS = ['native', 'wasm', 'reference'] as const;
export type KernelTierName = (typeof KERNEL_TIERS)[number];

function available(name: KernelTierName): KernelTier | null {
  if (name === 'native') return loadNativeTier();
  if (name === 'wasm') return loadWasmTier();
  return referenceTier;
}

/**
 * The kernel tier to use: `preference`, else $BITNET_KERNEL, else the fastest available
 * (native, then wasm, then the TypeScript reference). Naming a tier that is not available is an error.
 */
export function selectKernelTier(preference?: KernelTierName | 'auto'): KernelTier {
  const wanted = preference ?? (process.env.BITNET_KERNEL as KernelTierName | 'auto' | undefined) ?? 'auto';
  if (wanted === 'auto') return available('native') ?? available('wasm') ?? referenceTier;
  if (!KERNEL_TIERS.includes(wanted)) {
    throw new BitNetError('INVALID_ARGUMENT', `unknown kernel tier '${String(wanted)}'`, { field: 'kernel', hint: `one of auto, ${KERNEL_TIERS.join(', ')}` });
  }
  const tier = available(wanted);
  if (tier === null) {
    throw new BitNetError('BACKEND_UNAVAILABLE', `the ${wanted} kernel tier is not available`, {
      field: 'kernel',
      hint: wanted === 'native' ? 'build it with a C compiler: node scripts/build-native.mjs (npm ci does this)' : 'run npm run build',
    });
  }
  return tier;
}

/** Every tier with whether it loads here, for `bitnet kernels`. */
export function kernelReport(): { name: KernelTierName; available: boolean; detail: string }[] {
  return KERNEL_TIERS.map((name) => {
    const tier = available(name);
    return { name, available: tier !== null, detail: tier?.detail ?? 'not built' };
  });
}

/** Threads for large problems: $BITNET_THREADS, else the machine's cores. */
export function defaultThreads(): number {
  const env = Number(process.env.BITNET_THREADS);
  return Number.isInteger(env) && env > 0 ? env : Math.max(1, cpus().length);
}
