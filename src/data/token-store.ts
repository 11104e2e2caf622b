import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Tokenized examples laid end to end: ids, the loss mask beside them, and where each example
 * starts (offsets[k]; offsets[examples] is the token count).
 */
export interface TokenStore {
  readonly examples: number;
  readonly tokens: number;
  readonly offsets: Float64Array;
  read(start: number, length: number): { ids: Int32Array; mask: Uint8Array };
  close(): void;
}

export class MemoryTokenStore implements TokenStore {
  readonly examples: number;
  readonly tokens: number;

  constructor(
    readonly ids: Int32Array,
    readonly mask: Uint8Array,
    readonly offsets: Float64Array,
  ) {
    this.examples = offsets.length - 1;
    this.tokens = ids.length;
  }

  static fromExamples(examples: readonly { ids: Int32Array; mask: Uint8Array }[]): MemoryTokenStore {
    const offsets = new Float64Array(examples.length + 1);
    examples.forEach((e, k) => (offsets[k + 1] = (offsets[k] as number) + e.ids.length));
    const total = offsets[examples.length] as number;
    const ids = new Int32Array(total);
    const mask = new Uint8Array(total);
    examples.forEach((e, k) => {
      ids.set(e.ids, offsets[k]);
      mask.set(e.mask, offsets[k]);
    });
    return new MemoryTokenStore(ids, mask, offsets);
  }

  read(start: number, length: number): { ids: Int32Array; mask: Uint8Array } {
    return { ids: this.ids.slice(start, start + length), mask: this.mask.slice(start, start + length) };
  }

  close(): void {}
}

/** The tokenization cache's files read in place: only the windows a batch needs are read. */
export class FileTokenStore implements TokenStore {
  readonly examples: number;
  private readonly idsFd: number;
  private readonly maskFd: number;

  constructor(
    idsPath: string,
    maskPath: string,
    readonly offsets: Float64Array,
    readonly tokens: number,
  ) {
    this.examples = offsets.length - 1;
    this.idsFd = openSync(idsPath, 'r');
    this.maskFd = openSync(maskPath, 'r');
  }

  read(start: number, length: number): { ids: Int32Array; mask: Uint8Array } {
    const ids = new Int32Array(length);
    const mask = new Uint8Array(length);
    readSync(this.idsFd, new Uint8Array(ids.buffer), 0, length * 4, start * 4);
    readSync(this.maskFd, mask, 0, length, start);
    return { ids, mask };
  }

  close(): void {
    closeSync(this.idsFd);
    closeSync(this.maskFd);
  }
}
