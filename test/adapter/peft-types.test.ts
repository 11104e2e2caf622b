// Issue #17: getPeftModel's config is typed by its peftType (each method adds its fields to
// PeftMethods by declaration merging), so a misspelt field or another method's field does not
// compile (the @ts-expect-error lines fail `npm run typecheck` if they stop being errors), and the
// PeftModel's config is the method's parsed type. At run time the schemas refuse the same configs.
import { beforeAll, describe, expect, it } from 'vitest';
import '../../adapters/index.js';
import { getPeftModel, peftConfig } from '../../src/adapter/peft.js';
import { useBackend } from '../helpers/tf.js';
import { denseMlp } from './models.js';

describe('typed adapter configs', () => {
  beforeAll(() => useBackend('cpu'));

  it('a LoRA config types its PeftModel; unknown keys and other methods fields do not compile', () => {
    const base = denseMlp();
    const lora = getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1'], r: 4 });
    const rank: number = lora.config.r;
    const dora: boolean = lora.config.useDora;
    expect([rank, dora, lora.config.loraAlpha]).toEqual([4, false, 8]);
    const bitnet = getPeftModel(base, { peftType: 'BITNET', targetModules: ['fc2'], groupSize: 8 });
    const group: number | 'tensor' = bitnet.config.groupSize;
    expect(group).toBe(8);
    // @ts-expect-error rr is not a LoRA field
    expect(() => getPeftModel(base, { peftType: 'LORA', targetModules: ['fc1'], rr: 8 })).toThrow(/rr/);
    // @ts-expect-error r is LoRA's, not BitNet's
    expect(() => getPeftModel(base, { peftType: 'BITNET', targetModules: ['fc1'], r: 8 })).toThrow(/r/);
    // @ts-expect-error no such method
    expect(() => getPeftModel(base, { peftType: 'IA3', targetModules: ['fc1'] })).toThrow(/IA3/);
    // @ts-expect-error targetModules is required
    expect(() => peftConfig({ peftType: 'LORA', r: 2 })).toThrow(/targetModules/);
    expect(peftConfig({ peftType: 'LORA', targetModules: ['fc2'], r: 2 }).loraAlpha).toBe(8);
    lora.dispose();
    bitnet.dispose();
    base.dispose();
  });
});
