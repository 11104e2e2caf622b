/**
 * Every failure the library reports is a BitNetError with a code from this closed list.
 * User errors (bad input, bad config, bad files) map to CLI exit code 2; the rest to 1.
 */
export const USER_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'INVALID_SHAPE',
  'INVALID_DATA',
  'INVALID_CONFIG',
  'CORRUPT_FILE',
  'FILE_NOT_FOUND',
  'UNSUPPORTED',
  'BACKEND_UNAVAILABLE',
] as const;

export const INTERNAL_ERROR_CODES = ['IO_ERROR', 'INTERNAL'] as const;

export type UserErrorCode = (typeof USER_ERROR_CODES)[number];
export type InternalErrorCode = (typeof INTERNAL_ERROR_CODES)[number];
export type BitNetErrorCode = UserErrorCode | InternalErrorCode;

export interface BitNetErrorOptions {
  /** What the user can do about it. */
  hint?: string | undefined;
  /** The offending field, as a dotted path (`groupSize`, `train.lr`). */
  field?: string | undefined;
  /** The offending byte offset in a file or buffer. */
  offset?: number | undefined;
  cause?: unknown;
}

export class BitNetError extends Error {
  override readonly name = 'BitNetError';
  readonly code: BitNetErrorCode;
  readonly hint: string | undefined;
  readonly field: string | undefined;
  readonly offset: number | undefined;

  constructor(code: BitNetErrorCode, message: string, options: BitNetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.field = options.field;
    this.offset = options.offset;
  }

  get isUserError(): boolean {
    return (USER_ERROR_CODES as readonly string[]).includes(this.code);
  }

  /** One human-readable block: `[CODE] message (field: x) \n hint: ...`. */
  format(): string {
    const where = [this.field === undefined ? '' : `field: ${this.field}`, this.offset === undefined ? '' : `byte offset: ${this.offset}`].filter(
      (s) => s !== '',
    );
    const head = `[${this.code}] ${this.message}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
    return this.hint === undefined ? head : `${head}\n  hint: ${this.hint}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.offset === undefined ? {} : { offset: this.offset }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}

export function isBitNetError(value: unknown): value is BitNetError {
  return value instanceof BitNetError;
}
