// Issue #15, finding 3: a GGUF whose metadata disagrees with its tensors is CORRUPT_FILE naming the
// tensor (exit 2 in the CLI), not a TypeError deep in the runner or garbage output.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { loadBitnetGguf } from '../../src/formats/gguf/bitnet-read.js';
import { byteVocabulary, writeBitnetGguf } from '../../src/formats/gguf/bitnet-write.js';
import { loadLlamaGguf, writeLlamaGguf } from '../../src/formats/gguf/llama-gguf.js';
import type { BitnetLmConfig } from '../../src/models/bitnet/config.js';
import { randomBitnetWeights, type BitnetLmWeights } from '../../src/models/bitnet/weights.js';
import { expectBitNetErrorAsync } from '../helpers/errors.js';
import { TINY_LM_CONFIG } from '../helpers/tiny-lm.js';

const work = mkdtempSync(join(tmpdir(), 'bitnet-gguf-shapes-'));
const CONFIG: BitnetLmConfig = TINY_LM_CONFIG;
const vocab = byteVocabulary(Array.from({ length: 41 }, (_, i) => `<t${i}>`));

/** A model whose metadata (config) says one thing and whose tensors another. */
function lying(edit: (w: BitnetLmWeights) => void): BitnetLmWeights {
  const w = randomBitnetWeights(CONFIG, 3);
  edit(w);
  return w;
}

const CASES: [string, BitnetLmWeights, string][] = [
  ['head_count_kv larger than the k/v tensors hold', lying((w) => (w.config = { ...w.config, numKvHeads: 4 })), 'blk.0.attn_k.weight'],
  ['feed_forward_length larger than the FFN tensors', lying((w) => (w.config = { ...w.config, intermediateSize: 768 })), 'blk.0.ffn_sub_norm.weight'],
  ['a short norm tensor', lying((w) => ((w.layers[1] as BitnetLmWeights['layers'][number]).attnNorm = new Float32Array(128))), 'blk.1.attn_norm.weight'],
  ['a short output norm', lying((w) => (w.outputNorm = new Float32Array(8))), 'output_norm.weight'],
];

describe('GGUF hyperparameters against tensor shapes', () => {
  it.each(CASES)('bitnet architecture: %s', async (_name, weights, field) => {
    const path = join(work, `${field}.gguf`);
    await writeBitnetGguf(path, weights, vocab, { type: 'tq2_0' });
    await expectBitNetErrorAsync(() => loadBitnetGguf(path), 'CORRUPT_FILE', field);
    const io = captureIo();
    expect(await runCli(['generate', path, '--max-tokens', '2'], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain(`[CORRUPT_FILE]`);
  });

  it.each([
    ['negative', -5],
    ['NaN', Number.NaN],
  ])('a %s rope.freq_base is CORRUPT_FILE naming the GGUF key, not an invalid model config', async (_name, theta) => {
    const w = randomBitnetWeights(CONFIG, 5);
    w.config = { ...w.config, ropeTheta: theta };
    const path = join(work, `rope-${_name}.gguf`);
    await writeBitnetGguf(path, w, vocab, { type: 'tq2_0' });
    await expectBitNetErrorAsync(() => loadBitnetGguf(path), 'CORRUPT_FILE', 'bitnet.rope.freq_base');
  });

  it('llama architecture: the same check', async () => {
    const w = randomBitnetWeights({ ...CONFIG, subLn: false }, 4);
    for (const l of w.layers) {
      delete l.attnSubNorm;
      delete l.ffnSubNorm;
    }
    w.config = { ...w.config, subLn: false, intermediateSize: 768 };
    const path = join(work, 'llama.gguf');
    await writeLlamaGguf(path, w, 'llama', vocab, { type: 'tq2_0' });
    await expectBitNetErrorAsync(() => loadLlamaGguf(path), 'CORRUPT_FILE', 'blk.0.ffn_gate.weight');
  });
});
