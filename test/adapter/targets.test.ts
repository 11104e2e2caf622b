import { describe, expect, it } from 'vitest';
import { matchTargets, pathMatches, type CandidateLayer, type TargetRules } from '../../src/adapter/targets.js';
import { expectBitNetError } from '../helpers/errors.js';

const linear = (path: string, isOutputHead = false): CandidateLayer => ({ path, className: 'Dense', isLinear: true, isOutputHead });
const LAYERS: CandidateLayer[] = [
  linear('model.layers.0.self_attn.q_proj'),
  linear('model.layers.0.self_attn.k_proj'),
  linear('model.layers.0.self_attn.xq_proj'),
  { path: 'model.layers.0.act', className: 'Activation', isLinear: false, isOutputHead: false },
  linear('model.layers.1.self_attn.q_proj'),
  linear('model.layers.1.mlp.down_proj'),
  { path: 'model.layers.1.norm', className: 'RMSNorm', isLinear: false, isOutputHead: false },
  linear('lm_head', true),
];
const all = (_c: string): boolean => true;
const linearOnly = (c: string): boolean => c === 'Dense' || c === 'BitLinear';

function match(rules: TargetRules, supports = linearOnly): string[] {
  return matchTargets(LAYERS, rules, supports, 'LORA').matched;
}

describe('target matching (HF peft semantics)', () => {
  it.each([
    ['a string is a full-match regex', '.*q_proj', ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.xq_proj', 'model.layers.1.self_attn.q_proj']],
    ['a regex must match the whole path, not a part', 'model\\.layers\\.1\\..*_proj', ['model.layers.1.self_attn.q_proj', 'model.layers.1.mlp.down_proj']],
    ['a list entry matches a path exactly', ['lm_head'], ['lm_head']],
    ['a list entry matches a dotted suffix', ['q_proj'], ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj']],
    ['a longer dotted suffix narrows it', ['0.self_attn.q_proj', 'down_proj'], ['model.layers.0.self_attn.q_proj', 'model.layers.1.mlp.down_proj']],
    [
      'all-linear takes every linear layer but the output head',
      'all-linear',
      [
        'model.layers.0.self_attn.q_proj',
        'model.layers.0.self_attn.k_proj',
        'model.layers.0.self_attn.xq_proj',
        'model.layers.1.self_attn.q_proj',
        'model.layers.1.mlp.down_proj',
      ],
    ],
  ] as const)('%s', (_name, targetModules, expected) => {
    expect(match({ targetModules })).toEqual(expected);
  });

  it('a suffix must start at a dot: q_proj does not match xq_proj', () => {
    expect(pathMatches('model.layers.0.self_attn.xq_proj', ['q_proj'])).toBe(false);
    expect(pathMatches('q_proj', ['q_proj'])).toBe(true);
    expect(pathMatches('a.q_proj', 'q_proj')).toBe(false);
  });

  it('excludeModules applies first, as a regex or a list', () => {
    expect(match({ targetModules: 'all-linear', excludeModules: '.*layers\\.0.*' })).toEqual([
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.mlp.down_proj',
    ]);
    expect(match({ targetModules: ['q_proj'], excludeModules: ['layers.1.self_attn.q_proj'] })).toEqual(['model.layers.0.self_attn.q_proj']);
  });

  it('modulesToSave applies first: those layers are kept trainable, not adapted', () => {
    const report = matchTargets(LAYERS, { targetModules: '.*_proj|lm_head', modulesToSave: ['lm_head'] }, linearOnly, 'LORA');
    expect(report.matched).not.toContain('lm_head');
    expect(report.modulesToSave).toEqual(['lm_head']);
  });

  it('no match at all is an error that lists the targets and the layer paths', () => {
    const e = expectBitNetError(() => match({ targetModules: ['o_proj', 'gate_proj'] }), 'INVALID_CONFIG', 'targetModules');
    expect(e.message).toBe("target modules ['o_proj', 'gate_proj'] matched no layer of the model. Layer paths: " + LAYERS.map((l) => l.path).join(', '));
    expect(e.hint).toContain('regex');
    expectBitNetError(() => match({ targetModules: 'q_proj' }), 'INVALID_CONFIG', 'targetModules');
  });

  it('list entries that match nothing are warnings when others match', () => {
    const report = matchTargets(LAYERS, { targetModules: ['q_proj', 'o_proj'], modulesToSave: ['classifier'] }, linearOnly, 'LORA');
    expect(report.unmatchedTargets).toEqual(['o_proj']);
    expect(report.warnings).toEqual(["target module 'o_proj' matched no layer", "modulesToSave entry 'classifier' matched no layer"]);
  });

  it('a layer the method cannot adapt is an error naming it and its class', () => {
    const e = expectBitNetError(() => match({ targetModules: 'model\\.layers\\.0\\..*' }), 'INVALID_CONFIG');
    expect(e.message).toContain("'model.layers.0.act' (Activation), which LORA cannot adapt");
    expect(match({ targetModules: 'model\\.layers\\.0\\..*' }, all)).toContain('model.layers.0.act');
  });

  it('an invalid regex and an empty list are config errors', () => {
    expectBitNetError(() => match({ targetModules: '(q_proj' }), 'INVALID_CONFIG', 'targetModules');
    expectBitNetError(() => match({ targetModules: 'all-linear', excludeModules: '[' }), 'INVALID_CONFIG', 'excludeModules');
    expectBitNetError(() => match({ targetModules: [] }), 'INVALID_CONFIG', 'targetModules');
  });
});

describe('output heads of real models', () => {
  it('finds the linear layer that feeds each model output, through weight-free layers', async () => {
    const { candidateLayers } = await import('../../src/adapter/topology.js');
    const { denseMlp, branchModel } = await import('./models.js');
    const { buildMlp } = await import('../../src/models/mlp.js');
    const heads = (m: Parameters<typeof candidateLayers>[0]): string[] =>
      candidateLayers(m)
        .filter((l) => l.isOutputHead)
        .map((l) => l.path);
    expect(heads(denseMlp())).toEqual(['head']);
    expect(heads(branchModel())).toEqual(['out']);
    expect(heads(buildMlp({ inputSize: 4, hidden: [3], outputs: 2, layer: 'dense' }))).toEqual(['head']);
    expect(candidateLayers(buildMlp({ inputSize: 4, hidden: [3], outputs: 2, layer: 'bitlinear' })).map((l) => l.isLinear)).toEqual([true, false, true, false]);
  });
});
