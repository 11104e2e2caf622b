import { BitNetError } from '../errors.js';
import { KERNEL_TIERS, settings, type KernelPreference, type KernelTierName } from '../settings.js';
import { loadNativeTier } from './native/tier.js';
import { referenceTier } from './reference.js';
import { KERNEL_CAPABILITIES, type KernelCapability, type KernelTier, type Kernels } from './types.js';
import { loadWasmTier } from './wasm/tier.js';
import { openedWebGpuTier, openWebGpuTier } from './webgpu/tier.js';

/**
 * The kernel registry (tinygrad's runtimes): one entry per tier, fastest first. A path asks for
 * a tier (the `kernel` setting, BITNET_KERNEL, by default) and gets each capability from it, or
 * from the next tier down that offers it: `reference` makes every path run the TypeScript oracle;
 * `wasm` has only the ternary GEMM, so its F16 head and attention are the reference's.
 */
const LOADERS: Record<KernelTierName, () => KernelTier | null> = {
  webgpu: openedWebGpuTier,
  native: loadNativeTier,
  wasm: loadWasmTier,
  reference: () => referenceTier,
};

const HINTS: Record<KernelTierName, string> = {
  webgpu:
    'install the optional package webgpu and open the tier first (openWebGpuTier); without a GPU, BITNET_WEBGPU_FLAGS=backend=opengl EGL_PLATFORM=surfaceless uses Mesa llvmpipe',
  native: 'build it with a C compiler: node scripts/build-native.mjs (npm ci does this)',
  wasm: 'run npm run build',
  reference: '',
};

/** The tier `name` when it loads here (webgpu: once openWebGpuTier() has opened it), else null. */
export function loadTier(name: KernelTierName): KernelTier | null {
  return LOADERS[name]();
}

function checkPreference(preference: string): asserts preference is KernelPreference {
  if (preference !== 'auto' && !(KERNEL_TIERS as readonly string[]).includes(preference)) {
    throw new BitNetError('INVALID_ARGUMENT', `unknown kernel tier '${preference}'`, { field: 'kernel', hint: `one of auto, ${KERNEL_TIERS.join(', ')}` });
  }
}

/**
 * The kernels for `preference` (default: the `kernel` setting). 'auto' starts from the fastest CPU
 * tier; 'webgpu' gives the CPU capabilities of the tiers below it (the GPU paths open the webgpu
 * tier themselves). Naming a CPU tier that does not load here is an error.
 */
export function resolveKernels(preference: KernelPreference = settings().kernel): Kernels {
  checkPreference(preference);
  const automatic = preference === 'auto';
  const start: KernelTierName = automatic ? 'native' : preference;
  if (!automatic && start !== 'webgpu' && loadTier(start) === null) {
    throw new BitNetError('BACKEND_UNAVAILABLE', `the ${start} kernel tier is not available`, { field: 'kernel', hint: HINTS[start] });
  }
  const chain = KERNEL_TIERS.slice(KERNEL_TIERS.indexOf(start))
    .map(loadTier)
    .filter((t): t is KernelTier => t !== null);
  const provider = (capability: KernelCapability): KernelTier => chain.find((t) => t[capability] !== undefined) ?? referenceTier;
  const providers = Object.fromEntries(KERNEL_CAPABILITIES.map((c) => [c, provider(c).name])) as Record<KernelCapability, KernelTierName>;
  return {
    tier: automatic ? providers.ternary : start,
    automatic,
    providers,
    ternary: provider('ternary').ternary as NonNullable<KernelTier['ternary']>,
    gemvHalf: provider('gemvHalf').gemvHalf as NonNullable<KernelTier['gemvHalf']>,
    ggmlGemvHalf: provider('ggmlGemvHalf').ggmlGemvHalf as NonNullable<KernelTier['ggmlGemvHalf']>,
    attention: provider('attention').attention as NonNullable<KernelTier['attention']>,
    siluGlu: provider('siluGlu').siluGlu as NonNullable<KernelTier['siluGlu']>,
  };
}

export interface KernelReportEntry {
  name: KernelTierName;
  available: boolean;
  /** What it runs on, or why it is not available. */
  detail: string;
  capabilities: (KernelCapability | 'wgsl')[];
}

/** Every tier with whether it loads here and what it offers (`bitnet kernels`); opens the webgpu tier to find out. */
export async function kernelReport(): Promise<KernelReportEntry[]> {
  const gpu = await openWebGpuTier().catch((cause: unknown) => ({ tier: null, reason: String(cause) }));
  return KERNEL_TIERS.map((name) => {
    if (name === 'webgpu') {
      return gpu.tier === null
        ? { name, available: false, detail: gpu.reason, capabilities: [] }
        : { name, available: true, detail: gpu.tier.detail, capabilities: ['wgsl'] };
    }
    const tier = loadTier(name);
    return { name, available: tier !== null, detail: tier?.detail ?? 'not built', capabilities: KERNEL_CAPABILITIES.filter((c) => tier?.[c] !== undefined) };
  });
}
