import { BitNetError } from '../errors.js';

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function assertShape(shape: readonly number[], field = 'shape'): void {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new BitNetError('INVALID_SHAPE', `${field} must be a non-empty array of positive integers, got ${JSON.stringify(shape)}`, {
      field,
    });
  }
  shape.forEach((dim, i) => {
    if (!Number.isInteger(dim) || dim <= 0) {
      throw new BitNetError('INVALID_SHAPE', `${field}[${i}] must be a positive integer, got ${String(dim)}`, {
        field: `${field}[${i}]`,
      });
    }
  });
}

export function assertDataMatchesShape(length: number, shape: readonly number[], field = 'data'): void {
  const expected = shapeSize(shape);
  if (length !== expected) {
    throw new BitNetError('INVALID_SHAPE', `${field} has ${length} elements but shape ${JSON.stringify(shape)} needs ${expected}`, {
      field,
      hint: 'pass the data row-major with exactly prod(shape) elements',
    });
  }
}

export function assertFinite(data: Float32Array, field = 'data'): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) {
      throw new BitNetError('INVALID_DATA', `${field}[${i}] is ${String(v)}; quantization needs finite values`, {
        field: `${field}[${i}]`,
        hint: 'check the model for diverged weights or activations (NaN/Infinity) before quantizing',
      });
    }
  }
}

export function assertFloat32Array(data: unknown, field = 'data'): asserts data is Float32Array {
  if (!(data instanceof Float32Array)) {
    throw new BitNetError('INVALID_ARGUMENT', `${field} must be a Float32Array`, { field });
  }
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
