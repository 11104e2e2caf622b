// Child of fuzz/amplify.ts: runs one operation on one input and prints its outcome and peak memory.
import * as tf from '@tensorflow/tfjs';
import { loadPeftModel } from '../src/adapter/peft.js';
import { runCli } from '../src/cli/app.js';
import { captureIo } from '../src/cli/io.js';
import { BitNetError } from '../src/errors.js';
import '../adapters/index.js';

const [op, path] = process.argv.slice(2) as ['inspect' | 'generate' | 'load-adapter', string];
tf.enableProdMode();
await tf.setBackend('cpu');
const t0 = performance.now();
let outcome: string;
if (op === 'load-adapter') {
  const base = tf.sequential({ name: 'mlp' });
  base.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [12], name: 'fc1' }));
  base.add(tf.layers.dense({ units: 8, name: 'fc2' }));
  base.add(tf.layers.dense({ units: 4, name: 'head' }));
  try {
    (await loadPeftModel(base, path, { warn: () => {} })).dispose();
    outcome = 'ok';
  } catch (e) {
    outcome = e instanceof BitNetError && e.isUserError ? `typed ${e.code}` : `crash ${String(e)}`;
  }
} else {
  const io = captureIo();
  const code = await runCli(op === 'inspect' ? ['inspect', path] : ['generate', path, '--prompt', 'ab', '--max-tokens', '2'], io);
  outcome = code === 0 ? 'ok' : code === 2 ? `typed ${/\[([A-Z_]+)\]/.exec(io.stderr.join('\n'))?.[1] ?? ''}` : `crash ${io.stderr.join('\n').slice(0, 500)}`;
}
console.log(JSON.stringify({ outcome, maxRssKb: process.resourceUsage().maxRSS, ms: Math.round(performance.now() - t0) }));
