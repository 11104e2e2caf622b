import { expect } from 'vitest';
import { BitNetError, type BitNetErrorCode } from '../../src/errors.js';

function checkCaught(caught: unknown, code: BitNetErrorCode, field?: string | RegExp): BitNetError {
  expect(caught).toBeInstanceOf(BitNetError);
  const error = caught as BitNetError;
  expect(error.code).toBe(code);
  if (typeof field === 'string') expect(error.field).toBe(field);
  else if (field !== undefined) expect(error.field).toMatch(field);
  return error;
}

/** Asserts that fn throws a BitNetError with this code (and field, when given). */
export function expectBitNetError(fn: () => unknown, code: BitNetErrorCode, field?: string | RegExp): BitNetError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkCaught(caught, code, field);
}

/** expectBitNetError for a promise. */
export async function expectBitNetErrorAsync(fn: () => Promise<unknown>, code: BitNetErrorCode, field?: string | RegExp): Promise<BitNetError> {
  const caught = await fn().then(
    () => undefined,
    (error: unknown) => error,
  );
  return checkCaught(caught, code, field);
}
