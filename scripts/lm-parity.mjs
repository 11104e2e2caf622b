// llama.cpp parity of a BitNet LM: exports a run to GGUF, loads it in node-llama-cpp (test/interop)
// and compares (1) greedy continuations and last-position next-token probabilities in llama.cpp
// numerics, (2) the default (BitNet) numerics' top-1 token at each of N validation positions.
// Usage (after npm run build and npm --prefix test/interop ci --omit=optional --ignore-scripts):
//   node scripts/lm-parity.mjs runs/shakespeare-lm-bitnet [positions=1000]
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../dist/src/cli/app.js';
import { captureIo } from '../dist/src/cli/io.js';
import { BitnetRunner } from '../dist/src/inference/bitnet-forward.js';
import { loadLmWeights } from '../dist/src/inference/load-lm.js';
import { ByteTokenizer } from '../dist/src/tokenizer/byte-tokenizer.js';

export async function lmParity(run, positions = 1000, prompts = ['ROMEO:', 'First Citizen:\n', 'KING']) {
  const gguf = join(mkdtempSync(join(tmpdir(), 'bitnet-parity-')), 'lm.gguf');
  if ((await runCli(['export', run, '--type', 'tq2_0', '--out', gguf], captureIo())) !== 0) throw new Error('export failed');
  const req = createRequire(resolve('test/interop/package.json'));
  const { getLlama, LlamaLogLevel } = await import(req.resolve('node-llama-cpp'));
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: gguf });
  const weights = await loadLmWeights(gguf);
  const ctxLen = weights.config.contextLength;
  const context = await model.createContext({ contextSize: ctxLen, flashAttention: false });
  const tok = new ByteTokenizer();
  const probsAfter = async (seq, tokens) => {
    for await (const out of seq.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 })) return out.probabilities;
  };
  const result = { greedy: [], cosine: [], agreement: 0, positions: 0 };
  for (const text of prompts) {
    const prompt = tok.encode(text);
    const steps = Math.min(32, ctxLen - prompt.length - 1);
    const ours = new BitnetRunner(weights, 'llama.cpp').greedy(prompt, steps);
    const seq = context.getSequence();
    const theirs = [];
    for await (const t of seq.evaluate(prompt, { temperature: 0, yieldEogToken: true })) { theirs.push(t); if (theirs.length === steps) break; }
    seq.dispose();
    result.greedy.push({ prompt: text, equal: JSON.stringify(ours) === JSON.stringify(theirs), ours: tok.decode(ours), theirs: tok.decode(theirs) });
    const runner = new BitnetRunner(weights, 'llama.cpp');
    let logits; for (const t of prompt) logits = runner.forward(t);
    const max = Math.max(...logits); const ex = Array.from(logits, (l) => Math.exp(l - max)); const sum = ex.reduce((a, b) => a + b, 0);
    const s2 = context.getSequence(); const p = await probsAfter(s2, prompt); s2.dispose();
    let dot = 0, a2 = 0, b2 = 0; ex.forEach((e, i) => { const x = e / sum, y = p.get(i) ?? 0; dot += x * y; a2 += x * x; b2 += y * y; });
    result.cosine.push(dot / Math.sqrt(a2 * b2));
  }
  // default numerics: top-1 over consecutive validation windows of the context length
  const text = readFileSync('data/tinyshakespeare.txt', 'utf8');
  const val = tok.encode(text.slice(Math.floor(text.length * 0.9)));
  let agree = 0, total = 0;
  for (let start = 0; total < positions; start += ctxLen) {
    const window = val.slice(start, start + Math.min(ctxLen, positions - total + 1));
    const runner = new BitnetRunner(weights, 'bitnet');
    const seq = context.getSequence();
    for (let i = 0; i < window.length - 1 && total < positions; i++) {
      const logits = runner.forward(window[i]);
      let ours = 0; for (let k = 1; k < logits.length; k++) if (logits[k] > logits[ours]) ours = k;
      const p = await probsAfter(seq, [window[i]]);
      let theirs = 0, best = -1; for (const [k, v] of p) if (v > best) { best = v; theirs = k; }
      if (ours === theirs) agree++;
      total++;
    }
    seq.dispose();
  }
  result.agreement = agree / total;
  result.positions = total;
  await context.dispose(); await model.dispose(); await llama.dispose();
  return result;
}

if (process.argv[1]?.endsWith('lm-parity.mjs')) {
  const r = await lmParity(process.argv[2] ?? 'runs/shakespeare-lm-bitnet', Number(process.argv[3] ?? 1000));
  console.log(JSON.stringify(r, null, 2));
  process.exit(0);
}
