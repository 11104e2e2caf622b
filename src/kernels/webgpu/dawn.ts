import { settings } from '../../settings.js';

/** The parts of navigator.gpu this package uses. */
export interface DawnGpu {
  requestAdapter(options?: Record<string, unknown>): Promise<DawnAdapter | null>;
  readonly wgslLanguageFeatures?: unknown;
}

export interface DawnAdapter {
  info?: { description?: string; vendor?: string };
  requestDevice(): Promise<unknown>;
}

/** How a module is imported; tests replace it to simulate missing optional packages. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

export const defaultImporter: ModuleImporter = (specifier) => import(specifier);

let instance: DawnGpu | undefined;

/**
 * The process's one Dawn instance (the optional `webgpu` package), started on first use with the
 * `webgpuFlags` setting and shared by tfjs-webgpu and the WGSL kernels. Its requestAdapter falls
 * back to a 'compatibility' adapter when there is no core one (tfjs asks for core; Dawn's OpenGL
 * backend, e.g. Mesa llvmpipe, offers only compatibility). The instance stays referenced here:
 * collected, it takes its devices down (a segfault).
 */
export async function dawnGpu(importer: ModuleImporter = defaultImporter): Promise<DawnGpu> {
  if (instance !== undefined) return instance;
  const dawn = (await importer('webgpu')) as { create(flags: string[]): DawnGpu; globals: object };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(settings().webgpuFlags);
  instance = {
    requestAdapter: async (options = {}) => (await gpu.requestAdapter(options)) ?? gpu.requestAdapter({ ...options, featureLevel: 'compatibility' }),
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
  return instance;
}
