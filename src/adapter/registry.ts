import { BitNetError } from '../errors.js';
import type { AdapterConfigBase, AdapterMethod } from './types.js';

const methods = new Map<string, AdapterMethod>();

/** Registers an adapter method under its peftType; names are unique. */
export function registerAdapter<C extends AdapterConfigBase>(method: AdapterMethod<C>): void {
  const existing = methods.get(method.peftType);
  if (existing !== undefined && existing !== (method as unknown as AdapterMethod)) {
    throw new BitNetError('INVALID_ARGUMENT', `an adapter method named '${method.peftType}' is already registered`, { field: 'peftType' });
  }
  methods.set(method.peftType, method);
}

export function getAdapterMethod(peftType: string): AdapterMethod {
  const method = methods.get(peftType);
  if (method === undefined) {
    throw new BitNetError('INVALID_CONFIG', `unknown adapter type '${peftType}'`, {
      field: 'peftType',
      hint: `registered: ${[...methods.keys()].join(', ') || 'none (import the adapters)'}`,
    });
  }
  return method;
}

export function registeredAdapters(): string[] {
  return [...methods.keys()];
}
