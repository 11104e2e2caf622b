// Issue #17: a LoRA adapter that is not merged reaches every consumer. lmWeightsOf read the wrapped
// base kernel and dropped the adapter silently (an exported GGUF and `bitnet generate` gave the
// base model's outputs). Now it keeps the update beside the ternary weights, and the runner adds
// it: its logits equal the tfjs model's with the adapter, and differ from the base model's.
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { LoraLinear } from '../../adapters/lora/layer.js';
import { getPeftModel } from '../../src/adapter/peft.js';
import { BitnetRunner } from '../../src/inference/bitnet-forward.js';
import { buildBitnetLm, lmWeightsOf } from '../../src/models/bitnet/tfjs.js';
import { BitLinear } from '../../src/nn/bit-linear.js';
import { weightsByName, setWeightsByName } from '../../src/nn/weights.js';
import { seededArray, tf, useBackend } from '../helpers/tf.js';

const CONFIG = {
  vocabSize: 257,
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 16,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
};

const TOKENS = [10, 200, 33, 65, 97, 256, 1];

function tfjsLogits(model: tf.LayersModel): number[][] {
  return tf.tidy(() => (model.predict(tf.tensor2d([TOKENS], [1, TOKENS.length], 'int32')) as tf.Tensor).arraySync() as number[][][])[0] as number[][];
}

function runnerLogits(runner: BitnetRunner): Float32Array[] {
  return TOKENS.map((t) => runner.forward(t));
}

function worstRelative(ours: Float32Array[], theirs: number[][]): number {
  return Math.max(
    ...theirs.map((row, pos) => {
      const scale = Math.max(...row.map(Math.abs));
      return row.reduce((m, v, i) => Math.max(m, Math.abs(v - ((ours[pos] as Float32Array)[i] as number))), 0) / scale;
    }),
  );
}

describe('an unmerged LoRA adapter in the exported weights and the runner', () => {
  beforeAll(() => useBackend('cpu'));

  it('lmWeightsOf keeps it, the runner applies it (the tfjs logits), and it changes the outputs', () => {
    const base = buildBitnetLm({ ...CONFIG, layer: 'bitlinear', seed: 4 });
    const peft = getPeftModel(base, { peftType: 'LORA', targetModules: ['attn_q', 'attn_v', 'ffn_down'], r: 4, loraAlpha: 8 });
    base.dispose();
    const model = peft.model;
    let seed = 50;
    for (const layer of model.layers) {
      if (!(layer instanceof LoraLinear)) continue;
      // a trained adapter: lora_B away from its zero start
      const values = weightsByName(layer);
      const b = values.lora_B as tf.Tensor;
      const trained = tf.tensor(seededArray(b.size, seed++, 0.2), b.shape);
      setWeightsByName(layer, { ...values, lora_B: trained });
      trained.dispose();
      (layer.base as BitLinear).setInference(true);
    }
    for (const layer of model.layers) if (layer instanceof BitLinear) layer.setInference(true);
    const withAdapter = tfjsLogits(model);
    const weights = lmWeightsOf(model);
    expect(Object.keys(weights.layers[0]?.lora ?? {}).sort()).toEqual(['down', 'q', 'v']);
    expect(weights.layers[1]?.lora?.q?.rank).toBe(4);
    expect(weights.layers[1]?.lora?.q?.alpha).toBe(8);
    const ours = runnerLogits(new BitnetRunner(weights, 'bitnet'));
    expect(worstRelative(ours, withAdapter)).toBeLessThan(1e-4);

    peft.disable();
    const baseLogits = tfjsLogits(model);
    const baseWeights = lmWeightsOf(model);
    expect(baseWeights.layers.every((l) => l.lora === undefined)).toBe(true);
    expect(worstRelative(runnerLogits(new BitnetRunner(baseWeights, 'bitnet')), baseLogits)).toBeLessThan(1e-4);
    // the adapter matters: what dropping it gave differs from the adapted outputs far beyond rounding
    expect(worstRelative(ours, baseLogits)).toBeGreaterThan(1e-2);
    peft.dispose();
  });
});
