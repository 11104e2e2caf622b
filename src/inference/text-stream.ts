/** Tokens decoded again on each step are at most this many: the stream costs O(tokens), not O(tokens²). */
const WINDOW = 64;
/** Printed tokens kept at the start of a new window, so a decoder that treats a text's first token apart (SentencePiece's leading space) sees the same start. */
const KEEP = 8;

/**
 * Text as tokens come: each token's text is written once it ends on a whole character. Only a
 * recent window of tokens is decoded each time, relative to what that window decoded to before.
 */
export class TextStream {
  private readonly tokens: number[] = [];
  private anchor = 0;
  private windowText = '';
  /** Everything written so far. */
  printed = '';

  constructor(
    private readonly decode: (ids: number[]) => string,
    private readonly write: (text: string) => void,
  ) {}

  push(token: number): void {
    this.tokens.push(token);
    const text = this.decode(this.tokens.slice(this.anchor));
    if (text.endsWith('\uFFFD') || !text.startsWith(this.windowText)) return;
    const piece = text.slice(this.windowText.length);
    if (piece !== '') {
      this.write(piece);
      this.printed += piece;
    }
    this.windowText = text;
    if (this.tokens.length - this.anchor > WINDOW) {
      this.anchor = this.tokens.length - KEEP;
      this.windowText = this.decode(this.tokens.slice(this.anchor));
    }
  }
}
