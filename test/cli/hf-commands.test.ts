import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { fromPretrained } from '../../src/formats/hf-pretrained.js';
import { readSafetensors } from '../../src/formats/safetensors/reader.js';
import { HfTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { tf, useBackend } from '../helpers/tf.js';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
const CHAT = golden('hf-llama-chat-tiny');

describe('bitnet generate and export on HF model folders', () => {
  beforeAll(() => useBackend('cpu'));

  it('generate <hf-dir> --temperature 0: the greedy tokens of the full-precision model, through its tokenizer', async () => {
    const io = captureIo();
    expect(await runCli(['generate', CHAT, '--prompt', 'ROMEO:', '--max-tokens', '8', '--temperature', '0', '--json'], io)).toBe(0);
    const out = JSON.parse(io.stdout.join('')) as { tokens: number[]; text: string };
    // independently: argmax of the tfjs model's last logits, one token at a time
    const { model } = await fromPretrained(CHAT);
    const tokens = HfTokenizer.fromDir(CHAT).encode('ROMEO:');
    const want: number[] = [];
    for (let i = 0; i < 8; i++) {
      const next = tf.tidy(() => {
        const logits = model.predict(tf.tensor2d([tokens], [1, tokens.length], 'int32')) as tf.Tensor3D;
        return tf.argMax(tf.reshape(tf.slice(logits, [0, tokens.length - 1, 0], [1, 1, -1]), [-1])).dataSync()[0] as number;
      });
      want.push(next);
      tokens.push(next);
    }
    model.dispose();
    expect(out.tokens).toEqual(want);
    expect(out.text).toBe(HfTokenizer.fromDir(CHAT).decode(want));
  });

  it('export <hf-dir> --format hf writes what transformers loaded for the golden logits (test/formats/hf-export.test.ts)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bitnet-cli-export-')), 'bitnet');
    const io = captureIo();
    expect(await runCli(['export', CHAT, '--format', 'hf', '--out', out], io)).toBe(0);
    const want = golden('hf-export-llama-bitlinear');
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(readFileSync(join(want, 'config.json'), 'utf8'));
    const ours = await readSafetensors(join(out, 'model.safetensors'));
    const theirs = await readSafetensors(join(want, 'model.safetensors'));
    for (const n of theirs.names) expect(ours.tensor(n).bytes, n).toEqual(theirs.tensor(n).bytes);
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(CHAT, 'tokenizer.json'), 'utf8'));
  });

  it('bad input exits 2 with the field: no tokenizer, no weights, an unsupported architecture, a corrupt tokenizer.json, no model, packed checkpoints, widths TQ blocks cannot hold', async () => {
    const noWeights = mkdtempSync(join(tmpdir(), 'bitnet-noweights-'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(noWeights, f), readFileSync(join(CHAT, f)));
    const gpt2 = mkdtempSync(join(tmpdir(), 'bitnet-gpt2-'));
    writeFileSync(join(gpt2, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 64 }));
    writeFileSync(join(gpt2, 'tokenizer.json'), readFileSync(join(CHAT, 'tokenizer.json')));
    const badTokenizer = mkdtempSync(join(tmpdir(), 'bitnet-badtok-'));
    cpSync(CHAT, badTokenizer, { recursive: true });
    writeFileSync(join(badTokenizer, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": ');
    const cases: [string[], string][] = [
      [['generate', golden('hf-llama-tiny')], 'tokenizer.json'],
      [['generate', noWeights], 'model.safetensors'],
      [['generate', gpt2], 'model_type'],
      [['generate', badTokenizer], 'tokenizer.json'],
      [['generate', mkdtempSync(join(tmpdir(), 'bitnet-empty-'))], 'source'],
      [['generate', golden('hf-export-llama-bitlinear')], 'quantization_config'],
      [['export', CHAT, '--out', join(tmpdir(), 'never.gguf')], 'attn_q'],
    ];
    for (const [argv, field] of cases) {
      const io = captureIo();
      expect(await runCli(argv, io), argv.join(' ')).toBe(2);
      expect(io.stderr.join('\n')).toContain(`field: ${field}`);
    }
  });
});
