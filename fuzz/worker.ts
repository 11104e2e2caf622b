// One fuzz worker: runs cases [from, to) of one target in this process and reports each on stdout
// as a JSON line, `{"start":i}` before and the result after, so the parent can tell which case hung
// or killed the process.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../src/util/random.js';
import { fuzzTarget } from './targets.js';

const [targetName, corpusRoot, seedText, fromText, toText] = process.argv.slice(2) as [string, string, string, string, string];
tf.enableProdMode();
await tf.setBackend('cpu');
const target = fuzzTarget(targetName);
const corpus = join(corpusRoot, target.name);
if (!existsSync(join(corpus, '.ready'))) {
  mkdirSync(corpus, { recursive: true });
  await target.prepare(corpus);
  writeFileSync(join(corpus, '.ready'), '');
}
const caseDir = join(corpusRoot, `${target.name}.case`);
const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
say({ ready: true, rss: process.resourceUsage().maxRSS });
for (let i = Number(fromText); i < Number(toText); i++) {
  rmSync(caseDir, { recursive: true, force: true });
  mkdirSync(caseDir, { recursive: true });
  const rng = new SeededRandom(Number(seedText) * 1_000_003 + i);
  const c = target.make(rng, corpus, caseDir);
  say({ start: i });
  const t0 = performance.now();
  const outcome = await c.run();
  say({ i, ...outcome, ms: Math.round(performance.now() - t0), bytes: c.bytes, rss: process.resourceUsage().maxRSS, tensors: tf.memory().numTensors });
}
if (process.argv[7] !== 'keep') rmSync(caseDir, { recursive: true, force: true });
