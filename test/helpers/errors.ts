import { expect } from 'vitest';
import { BitNetError, type BitNetErrorCode } from '../../src/errors.js';

/** Asserts that fn throws a BitNetError with this code (and field, when given). */
export function expectBitNetError(fn: () => unknown, code: BitNetErrorCode, field?: string | RegExp): BitNetError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BitNetError);
  const error = caught as BitNetError;
  expect(error.code).toBe(code);
  if (field !== undefined) {
    if (typeof field === 'string') expect(error.field).toBe(field);
    else expect(error.field).toMatch(field);
  }
  return error;
}
