import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { installNativeMatMul } from './kernels/native/wasm-matmul.js';
import { installSharedCopies } from './kernels/wasm/shared-copies.js';
import type * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { BitNetError } from './errors.js';
import { dawnGpu, defaultImporter, type ModuleImporter } from './kernels/webgpu/dawn.js';

export const BACKEND_NAMES = ['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

export type { ModuleImporter } from './kernels/webgpu/dawn.js';

interface BackendLoader {
  /** npm packages a user installs to get this backend. */
  packages: readonly string[];
  /** Makes the backend registered in tfjs; throws BACKEND_UNAVAILABLE when it cannot. */
  load(importer: ModuleImporter): Promise<void>;
}

function unavailable(name: ConcreteBackend, packages: readonly string[], cause: unknown, hint?: string): BitNetError {
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new BitNetError('BACKEND_UNAVAILABLE', `the '${name}' backend is not available: ${reason}`, {
    field: 'backend',
    hint: hint ?? `install ${packages.join(' and ')} (npm i ${packages.join(' ')}), or choose --backend wasm`,
    cause,
  });
}

const LOAD_HINTS: Partial<Record<ConcreteBackend, string>> = {
  tensorflow:
    'install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) next to this package; ' +
    'their installers download libtensorflow; or choose --backend wasm',
};

const INIT_HINTS: Partial<Record<ConcreteBackend, string>> = {
  webgpu:
    'no WebGPU adapter was found: Dawn needs a Vulkan GPU driver; for a software adapter set ' +
    'BITNET_WEBGPU_FLAGS=backend=opengl and EGL_PLATFORM=surfaceless; or choose --backend wasm',
};

async function tryImport(importer: ModuleImporter, specifiers: readonly string[]): Promise<unknown> {
  let lastError: unknown;
  for (const specifier of specifiers) {
    try {
      return await importer(specifier);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

let wasmPathsSet = false;

type WasmBackendModule = typeof wasmBackend;

const LOADERS: Record<ConcreteBackend, BackendLoader> = {
  cpu: { packages: ['@tensorflow/tfjs'], load: async () => {} },
  wasm: {
    packages: ['@tensorflow/tfjs-backend-wasm'],
    load: async (importer) => {
      const wasm = (await importer('@tensorflow/tfjs-backend-wasm')) as WasmBackendModule;
      if (!wasmPathsSet) {
        // The .wasm binaries ship inside the package: point tfjs at them so nothing is fetched.
        const require = createRequire(import.meta.url);
        const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        wasm.setWasmPaths(`${dir}/`);
        wasmPathsSet = true;
      }
    },
  },
  webgpu: {
    packages: ['webgpu', '@tensorflow/tfjs-backend-webgpu'],
    load: async (importer) => {
      const globalWithGpu = globalThis as { navigator?: { gpu?: unknown } };
      if (globalWithGpu.navigator?.gpu === undefined) {
        Object.defineProperty(globalThis, 'navigator', { value: { gpu: await dawnGpu(importer) }, configurable: true });
      }
      await importer('@tensorflow/tfjs-backend-webgpu');
    },
  },
  tensorflow: {
    packages: ['@tensorflow/tfjs-node'],
    load: async (importer) => {
      await tryImport(importer, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    },
  },
};

async function activate(name: ConcreteBackend, importer: ModuleImporter): Promise<void> {
  const loader = LOADERS[name];
  try {
    await loader.load(importer);
  } catch (cause) {
    throw unavailable(name, loader.packages, cause, LOAD_HINTS[name]);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (cause) {
    throw unavailable(name, loader.packages, cause);
  }
  if (!ok || tf.getBackend() !== name) {
    throw unavailable(name, loader.packages, 'tfjs could not initialise it', INIT_HINTS[name]);
  }
  if (name === 'wasm') {
    installSharedCopies();
    installNativeMatMul();
  }
}

/**
 * Makes `name` the active tfjs backend. `auto` prefers `tensorflow` (tfjs-node-gpu / tfjs-node,
 * when the user installed them), then `wasm`. Returns the backend that is active.
 */
export async function selectBackend(name: BackendName = 'auto', importer: ModuleImporter = defaultImporter): Promise<ConcreteBackend> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new BitNetError('INVALID_ARGUMENT', `unknown backend '${String(name)}'`, {
      field: 'backend',
      hint: `one of ${BACKEND_NAMES.join(', ')}`,
    });
  }
  if (name !== 'auto') {
    await activate(name, importer);
    return name;
  }
  try {
    await activate('tensorflow', importer);
    return 'tensorflow';
  } catch {
    await activate('wasm', importer);
    return 'wasm';
  }
}
