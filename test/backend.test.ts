import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend, type ModuleImporter } from '../src/backend.js';
import { BitNetError } from '../src/errors.js';

/** An importer where some optional packages are not installed. */
function without(...missing: string[]): ModuleImporter {
  return (specifier) => {
    if (missing.includes(specifier)) return Promise.reject(new Error(`Cannot find package '${specifier}'`));
    return import(specifier);
  };
}

describe('selectBackend', () => {
  it('activates cpu and wasm', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await selectBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    expect([...y]).toEqual([3, 3, 3, 3]);
  });

  it('auto falls back to wasm when tfjs-node is not installed', async () => {
    expect(await selectBackend('auto', without('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'))).toBe('wasm');
  });

  it('a missing tensorflow backend names the packages to install', async () => {
    const error = await selectBackend('tensorflow', without('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BitNetError);
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', field: 'backend' });
    expect((error as BitNetError).hint).toContain('@tensorflow/tfjs-node-gpu');
  });

  it('a missing webgpu package names it', async () => {
    const error = await selectBackend('webgpu', without('webgpu')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect((error as BitNetError).message).toContain("'webgpu'");
    expect((error as BitNetError).hint).toContain('webgpu');
  });

  it('an unknown name is a user error', async () => {
    await expect(selectBackend('tpu' as 'cpu')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'backend' });
  });
});
