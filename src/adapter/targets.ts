import type * as tf from '@tensorflow/tfjs';
import { BitNetError } from '../errors.js';

/** A regex string (full match on the layer path), a list (exact or dotted suffix), or 'all-linear'. */
export type TargetModules = string | readonly string[];

export interface TargetRules {
  targetModules: TargetModules;
  /** Same forms as targetModules; applied first. */
  excludeModules?: TargetModules | undefined;
  /** Layers kept trainable and saved with the adapter (exact or dotted suffix); never adapted. */
  modulesToSave?: readonly string[] | undefined;
}

export interface CandidateLayer {
  path: string;
  className: string;
  /** Dense or BitLinear. */
  isLinear: boolean;
  /** The linear layer that produces a model output (excluded by 'all-linear'). */
  isOutputHead: boolean;
  /** The layer itself, for a method that takes only some layers of a class. */
  layer?: tf.layers.Layer;
}

export interface MatchReport {
  /** Paths of the layers the method adapts, in model order. */
  matched: string[];
  /** Paths of the layers kept trainable and saved as they are. */
  modulesToSave: string[];
  /** List entries that matched no layer. */
  unmatchedTargets: string[];
  warnings: string[];
}

function fullMatchRegex(pattern: string, field: string): RegExp {
  try {
    const re = new RegExp(`^(?:${pattern})$`);
    // V8 compiles on first use, where a pattern too large to compile throws
    re.test('');
    return re;
  } catch (cause) {
    throw new BitNetError('INVALID_CONFIG', `${field} is not a valid regular expression: ${(cause as Error).message}`, { field, cause });
  }
}

function listEntryMatches(path: string, entry: string): boolean {
  return path === entry || path.endsWith(`.${entry}`);
}

/** Whether `path` is selected by a target spec (HF peft semantics, without 'all-linear'). */
export function pathMatches(path: string, spec: TargetModules, field = 'targetModules'): boolean {
  if (typeof spec === 'string') return fullMatchRegex(spec, field).test(path);
  return spec.some((entry) => listEntryMatches(path, entry));
}

function describe(spec: TargetModules): string {
  return typeof spec === 'string' ? `'${spec}'` : `[${spec.map((s) => `'${s}'`).join(', ')}]`;
}

/**
 * Selects the layers an adapter method adapts, with HuggingFace peft's rules: excludeModules and
 * modulesToSave first; then a string target is a full-match regex, a list matches exact paths or
 * dotted suffixes, and 'all-linear' takes every linear layer but the output head.
 */
export function matchTargets(
  layers: readonly CandidateLayer[],
  rules: TargetRules,
  supports: (className: string, layer?: tf.layers.Layer) => boolean,
  methodName: string,
): MatchReport {
  const { targetModules, excludeModules, modulesToSave = [] } = rules;
  if (typeof targetModules !== 'string' && targetModules.length === 0) {
    throw new BitNetError('INVALID_CONFIG', 'targetModules is an empty list', { field: 'targetModules', hint: "name layers, a regex, or 'all-linear'" });
  }
  const matched: string[] = [];
  const saved: string[] = [];
  for (const layer of layers) {
    if (excludeModules !== undefined && pathMatches(layer.path, excludeModules, 'excludeModules')) continue;
    if (modulesToSave.some((entry) => listEntryMatches(layer.path, entry))) {
      saved.push(layer.path);
      continue;
    }
    const selected = targetModules === 'all-linear' ? layer.isLinear && !layer.isOutputHead : pathMatches(layer.path, targetModules);
    if (!selected) continue;
    if (!supports(layer.className, layer.layer)) {
      throw new BitNetError(
        'INVALID_CONFIG',
        `target ${describe(targetModules)} matched layer '${layer.path}' (${layer.className}), which ${methodName} cannot adapt`,
        {
          field: 'targetModules',
          hint: `${methodName} adapts Dense and BitLinear layers; narrow the pattern or add '${layer.path}' to excludeModules`,
        },
      );
    }
    matched.push(layer.path);
  }
  const paths = layers.map((l) => l.path);
  if (matched.length === 0) {
    throw new BitNetError('INVALID_CONFIG', `target modules ${describe(targetModules)} matched no layer of the model. Layer paths: ${paths.join(', ')}`, {
      field: 'targetModules',
      hint: 'a string is a regex over the whole path; a list entry matches a path or its last dotted parts',
    });
  }
  const unmatchedTargets = typeof targetModules === 'string' ? [] : targetModules.filter((entry) => !paths.some((p) => listEntryMatches(p, entry)));
  const warnings = unmatchedTargets.map((entry) => `target module '${entry}' matched no layer`);
  for (const entry of modulesToSave) {
    if (!paths.some((p) => listEntryMatches(p, entry))) warnings.push(`modulesToSave entry '${entry}' matched no layer`);
  }
  return { matched, modulesToSave: saved, unmatchedTargets, warnings };
}
