import type { BitnetLmConfig } from '../../src/models/bitnet/config.js';

/** A small decoder with TQ-compatible widths (multiples of 256), GQA 4/2, for tests that write and run GGUFs. */
export const TINY_LM_CONFIG: BitnetLmConfig = {
  vocabSize: 300,
  hiddenSize: 256,
  intermediateSize: 512,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  contextLength: 64,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
};
