import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { fromPretrained } from '../../src/formats/hf-pretrained.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { resolveKernels } from '../../src/kernels/registry.js';
import { llamaLmWeights } from '../../src/models/llama/weights.js';
import { worstRowRelative } from '../helpers/golden.js';
import { tf, useBackend } from '../helpers/tf.js';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));

describe('BitnetRunner on converted Llama-family models: the tfjs model, token by token with a KV cache', () => {
  beforeAll(() => useBackend('cpu'));

  // llama: llama3 rope factors, GQA, untied head; qwen2: q/k/v bias, tied; qwen3: q/k norm, head_dim 32 != 64/4, untied; chat + SubLN
  it.each([
    ['hf-llama-tiny', false],
    ['hf-qwen2-tiny', false],
    ['hf-qwen3-tiny', false],
    ['hf-llama-chat-tiny', true],
  ] as const)('%s (SubLN %s): the runner in BitNet numerics gives the logits of the converted tfjs model', async (name, subLn) => {
    const { model } = await fromPretrained(golden(name), { subLn });
    const peft = getPeftModel(model, { peftType: 'BITNET', targetModules: 'all-linear' });
    const tokens = [3, 17, 42, 5, 63, 8, 30, 2];
    const want = tf.tidy(() => (peft.model.predict(tf.tensor2d([tokens], [1, tokens.length], 'int32')) as tf.Tensor).arraySync() as number[][][]);
    const weights = llamaLmWeights(peft.model);
    expect(weights.output === undefined).toBe(name === 'hf-qwen2-tiny' || name === 'hf-llama-chat-tiny');
    const runner = new BitnetRunner(weights, 'bitnet', { kernels: resolveKernels('reference') });
    const got = tokens.map((t) => runner.forward(t));
    expect(worstRowRelative(got, want[0] as number[][])).toBeLessThan(1e-4);
    peft.dispose();
    model.dispose();
  });
});
