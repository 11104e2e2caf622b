// Issue #15, finding 10: mistyped sampling arguments are refused (exit 2, the option named) before
// anything is loaded, instead of generating with NaN or a negative count; text streams as it comes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { randomBitnetWeights } from '../../src/models/bitnet/weights.js';
import { ByteTokenizer } from '../../src/tokenizer/byte-tokenizer.js';

describe('bitnet generate: sampling arguments', () => {
  it.each([
    ['--max-tokens', '-1'],
    ['--max-tokens', '0'],
    ['--max-tokens', 'abc'],
    ['--max-tokens', '2.5'],
    ['--temperature', 'NaN'],
    ['--temperature', '-0.1'],
    ['--top-k', 'NaN'],
    ['--top-k', '-3'],
    ['--seed', 'x'],
  ])('%s %s', async (option, value) => {
    const io = captureIo();
    expect(await runCli(['generate', 'no-such-model.gguf', option, value], io)).toBe(2);
    const stderr = io.stderr.join('\n');
    expect(stderr).toContain(`[INVALID_ARGUMENT] ${option} must be`);
    expect(stderr).toContain(`field: ${option.slice(2)}`);
  });
});

describe('bitnet generate: streaming', () => {
  it('writes the prompt, then the text in pieces as tokens come; together they are the --json text', async () => {
    const bytes = new ByteTokenizer();
    const config = {
      vocabSize: bytes.vocabSize,
      hiddenSize: 256,
      intermediateSize: 256,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 2,
      contextLength: 64,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
    };
    const path = join(mkdtempSync(join(tmpdir(), 'bitnet-stream-')), 'lm.gguf');
    await writeBitnetGguf(path, randomBitnetWeights(config, 5, { weightStd: 0.3, embeddingStd: 0.5 }), bytes.ggufVocabulary(), { type: 'tq2_0' });
    const args = ['generate', path, '--prompt', 'AB', '--max-tokens', '12', '--temperature', '0'];
    const streamed = captureIo();
    expect(await runCli(args, streamed)).toBe(0);
    const json = captureIo();
    expect(await runCli([...args, '--json'], json)).toBe(0);
    const text = (JSON.parse(json.stdout.join('')) as { text: string }).text;
    expect(streamed.stdout[0]).toBe('AB');
    expect(streamed.stdout.length).toBeGreaterThan(3);
    expect(streamed.stdout.join('')).toBe(`AB${text}`);
  });
});
