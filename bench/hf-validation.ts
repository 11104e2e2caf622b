// The shared pretrained checkpoint (../shared/models/shakespeare-llama-21m) through fromPretrained:
// its tokenizer and its validation loss by the README's exact procedure, against transformers' 4.43700.
// Usage (after npm run build):  node dist/bench/hf-validation.js [model dir] [backend]
//   logits: /tmp/ref/bin/python scripts/golden/shared_model_logits.py <dir> /tmp/shared-logits.json && node dist/bench/hf-validation.js --logits /tmp/shared-logits.json [dir]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/backend.js';
import { fromPretrained } from '../src/formats/hf-pretrained.js';
import { packageRoot } from '../src/kernels/package-root.js';

export async function hfValidation(
  dir: string,
  backend: BackendName = 'wasm',
): Promise<{ ids: number; firstIds: number[]; targets: number; loss: number; seconds: number }> {
  await selectBackend(backend);
  const { model, tokenizer } = await fromPretrained(dir);
  if (tokenizer === undefined) throw new Error(`${dir} has no tokenizer.json`);
  const text = readFileSync(join(packageRoot(), 'data', 'tinyshakespeare.txt'), 'utf8');
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  const val = ids.slice(Math.floor(0.9 * ids.length));
  const t0 = performance.now();
  let sum = 0;
  let targets = 0;
  for (let start = 0; start < val.length - 257; start += 256) {
    const window = val.slice(start, start + 257);
    const nll = tf.tidy(() => {
      const logits = (model.predict(tf.tensor2d([window.slice(0, 256)], [1, 256], 'int32')) as tf.Tensor3D).squeeze([0]);
      // HF's labels=input_ids shift: position t predicts window[t + 1], 255 predictions per window
      const logp = tf.logSoftmax(logits.slice([0, 0], [255, -1]));
      const picked = tf.mul(logp, tf.oneHot(tf.tensor1d(window.slice(1, 256), 'int32'), logp.shape[1] as number));
      return -(tf.sum(picked).dataSync()[0] as number);
    });
    sum += nll;
    targets += 255;
  }
  model.dispose();
  return { ids: ids.length, firstIds: ids.slice(0, 5), targets, loss: sum / targets, seconds: (performance.now() - t0) / 1000 };
}

/** max over positions of max |ours - transformers'| / max |transformers'|, on the logits scripts/golden/shared_model_logits.py wrote. */
export async function logitsAgainst(dir: string, file: string): Promise<{ positions: number; worstRelative: number }> {
  await selectBackend('cpu');
  const want = JSON.parse(readFileSync(file, 'utf8')) as { tokens: number[]; logits: number[][] };
  const { model } = await fromPretrained(dir);
  const got = tf.tidy(() => (model.predict(tf.tensor2d([want.tokens], [1, want.tokens.length], 'int32')) as tf.Tensor).arraySync() as number[][][]);
  model.dispose();
  const worst = Math.max(
    ...want.logits.map((row, t) => row.reduce((m, v, k) => Math.max(m, Math.abs(v - (got[0]?.[t]?.[k] as number))), 0) / Math.max(...row.map(Math.abs))),
  );
  return { positions: want.tokens.length, worstRelative: worst };
}

if (process.argv[1]?.endsWith('hf-validation.js') && process.argv[2] === '--logits') {
  const file = process.argv[3] ?? '/tmp/shared-logits.json';
  const dir = process.argv[4] ?? join(packageRoot(), '..', 'shared', 'models', 'shakespeare-llama-21m');
  console.log(JSON.stringify({ dir, file, ...(await logitsAgainst(dir, file)) }));
  process.exit(0);
}

if (process.argv[1]?.endsWith('hf-validation.js')) {
  const dir = process.argv[2] ?? join(packageRoot(), '..', 'shared', 'models', 'shakespeare-llama-21m');
  const r = await hfValidation(dir, (process.argv[3] ?? 'wasm') as BackendName);
  console.log(JSON.stringify(r));
  console.log(`validation loss ${r.loss.toFixed(5)} nats/token over ${r.targets} targets (transformers: 4.43700 over 34,425)`);
  process.exit(0);
}
