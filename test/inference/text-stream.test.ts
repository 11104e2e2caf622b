// Issue #15, finding 10: generated text streams as it comes without decoding every token again on
// each step (the old stream decoded the whole text per token: quadratic in --max-tokens).
import { describe, expect, it } from 'vitest';
import { TextStream } from '../../src/inference/text-stream.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';

function streamed(ids: readonly number[], decode: (ids: number[]) => string): { pieces: string[]; longestDecode: number; printed: string } {
  const pieces: string[] = [];
  let longestDecode = 0;
  const stream = new TextStream(
    (window) => {
      longestDecode = Math.max(longestDecode, window.length);
      return decode(window);
    },
    (text) => pieces.push(text),
  );
  for (const id of ids) stream.push(id);
  return { pieces, longestDecode, printed: stream.printed };
}

describe('TextStream', () => {
  it('writes whole characters of byte tokens, together the full text, decoding a bounded window', () => {
    const bytes = new ByteTokenizer();
    const text = 'héllo ✓ wörld 🦙 — '.repeat(40);
    const ids = bytes.encode(text);
    const { pieces, longestDecode, printed } = streamed(ids, (w) => bytes.decode(w));
    expect(pieces.join('')).toBe(text);
    expect(printed).toBe(text);
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(ids.length).toBeGreaterThan(800);
    // 64 tokens, plus the bytes of a character still incomplete when the window is full
    expect(longestDecode).toBeLessThanOrEqual(64 + 4 + 1);
  });

  it("keeps SentencePiece's leading-space rule: the window's first token is decoded as before", () => {
    const vocab = ['▁the', '▁cat', '▁sat', '▁on', '▁a', '▁mat', '.'];
    const decode = (ids: number[]): string =>
      ids
        .map((i) => vocab[i] as string)
        .join('')
        .replaceAll('▁', ' ')
        .replace(/^ /, '');
    const ids = Array.from({ length: 500 }, (_, i) => (i * 5) % vocab.length);
    const { pieces } = streamed(ids, decode);
    expect(pieces.join('')).toBe(decode(ids));
  });
});
