import { describe, expect, it } from 'vitest';
import { BITNET_PRESETS, parseBitNetConfig } from '../src/config.js';
import { BitNetError } from '../src/errors.js';
import { expectBitNetError } from './helpers/errors.js';

describe('BitNetConfig', () => {
  it('fills defaults', () => {
    expect(parseBitNetConfig({})).toEqual({
      groupSize: 'tensor',
      activationBits: 8,
      activationScope: 'token',
      eps: 1e-5,
      useRmsNorm: false,
      rmsNormEps: 1e-5,
    });
  });

  it('resolves presets by name', () => {
    const common = { activationBits: 8, activationScope: 'token', eps: 1e-5, useRmsNorm: true, rmsNormEps: 1e-5 };
    expect(parseBitNetConfig('paper')).toEqual({ groupSize: 'tensor', ...common });
    expect(parseBitNetConfig('grouped')).toEqual({ groupSize: 128, ...common });
    expect(Object.keys(BITNET_PRESETS)).toEqual(['paper', 'grouped']);
    expectBitNetError(() => parseBitNetConfig('nope' as 'paper'), 'INVALID_CONFIG', 'preset');
  });

  it('accepts powers of two as group sizes', () => {
    expect(parseBitNetConfig({ groupSize: 64 }).groupSize).toBe(64);
  });

  it.each([
    [{ groupSize: 48 }, 'groupSize'],
    [{ groupSize: 'row' }, 'groupSize'],
    [{ activationBits: 9 }, 'activationBits'],
    [{ activationBits: 1 }, 'activationBits'],
    [{ activationScope: 'channel' }, 'activationScope'],
    [{ eps: 0 }, 'eps'],
    [{ rmsNormEps: -1 }, 'rmsNormEps'],
    [{ useRmsNorm: 'yes' }, 'useRmsNorm'],
  ])('rejects %j naming the field', (input, field) => {
    const e = expectBitNetError(() => parseBitNetConfig(input as never), 'INVALID_CONFIG', field);
    expect(e.message).toContain(field);
  });

  it('rejects unknown keys', () => {
    const e = expectBitNetError(() => parseBitNetConfig({ groupsize: 64 } as never), 'INVALID_CONFIG');
    expect(e.message).toContain('groupsize');
  });

  it('lists every problem at once', () => {
    const e = expectBitNetError(() => parseBitNetConfig({ activationBits: 12, eps: -1 }), 'INVALID_CONFIG');
    expect(e.message).toContain('activationBits');
    expect(e.message).toContain('eps');
  });
});

describe('BitNetError', () => {
  it('formats code, field and hint, and knows user errors', () => {
    const e = new BitNetError('INVALID_SHAPE', 'bad', { field: 'shape', hint: 'fix it' });
    expect(e.format()).toBe('[INVALID_SHAPE] bad (field: shape)\n  hint: fix it');
    expect(e.isUserError).toBe(true);
    expect(new BitNetError('INTERNAL', 'x').isUserError).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ name: 'BitNetError', code: 'INVALID_SHAPE', message: 'bad', field: 'shape', hint: 'fix it' });
  });
});
