/** First-fit allocation of a WebAssembly memory, 64-byte aligned; grows the memory when full. */
export class WasmAllocator {
  private readonly blocks: { offset: number; size: number; free: boolean }[] = [];
  private end: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base = 1024,
  ) {
    this.end = base;
  }

  alloc(bytes: number): number {
    const size = Math.ceil(Math.max(bytes, 1) / 64) * 64;
    const reuse = this.blocks.find((b) => b.free && b.size >= size);
    if (reuse !== undefined) {
      reuse.free = false;
      return reuse.offset;
    }
    const offset = this.end;
    this.end += size;
    const needed = this.end - this.memory.buffer.byteLength;
    if (needed > 0) this.memory.grow(Math.ceil(needed / 65536));
    this.blocks.push({ offset, size, free: false });
    return offset;
  }

  free(offset: number): void {
    const block = this.blocks.find((b) => b.offset === offset);
    if (block !== undefined) block.free = true;
  }
}
