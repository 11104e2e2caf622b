// A BitNet LM trained here, exported with `bitnet export`, run by real llama.cpp (node-llama-cpp).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { lmParity } from '../../bench/lm-parity.js';

const installed = existsSync(fileURLToPath(new URL('./node_modules/node-llama-cpp/package.json', import.meta.url)));
if (!installed && process.env.BITNET_REQUIRE_INTEROP === '1')
  throw new Error('node-llama-cpp is not installed in test/interop (npm --prefix test/interop ci --omit=optional)');
if (!installed) console.warn('SKIPPED: llama.cpp LM parity — node-llama-cpp is not installed in test/interop');

describe.runIf(installed)('llama.cpp parity of a trained BitNet LM', () => {
  it('greedy continuations and probabilities match in llama.cpp numerics; the BitNet numerics agree on top-1 at >= 95%', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitnet-lm-'));
    const recipe = join(dir, 'lm.json');
    writeFileSync(
      recipe,
      JSON.stringify({
        name: 'lm-ci',
        backend: 'wasm',
        model: { type: 'bitnet-lm', hiddenSize: 256, intermediateSize: 256, numLayers: 1, numHeads: 4, numKvHeads: 2, layer: 'bitlinear' },
        data: { type: 'text', path: fileURLToPath(new URL('../../data/tinyshakespeare.txt', import.meta.url)), contextLength: 32, evalTokens: 512 },
        train: { lr: 0.004, steps: 150, batchSize: 16, logInterval: 50, seed: 1, schedule: { type: 'cosine', warmupSteps: 10 } },
        output: { dir: join(dir, 'run'), checkpointInterval: 1000 },
      }),
    );
    expect(await runCli(['run', recipe, '--json'], captureIo())).toBe(0);
    const result = await lmParity(join(dir, 'run'), 200, ['ROMEO:', 'And ']);
    expect(result.greedy.every((g) => g.equal)).toBe(true);
    for (const c of result.cosine) expect(c).toBeGreaterThanOrEqual(0.9999);
    expect(result.positions).toBe(200);
    expect(result.agreement).toBeGreaterThanOrEqual(0.95);
  });
});
