import * as tf from '@tensorflow/tfjs';
import { setWeightsByName } from '../nn/weights.js';
import { BitNetError } from '../errors.js';
import { countParameters, formatTrainableParameters } from './params.js';
import { loadAdapterWeights, saveAdapter } from './io.js';
import { matchTargets } from './targets.js';
import { modelLayers } from '../nn/model-layers.js';
import { candidateLayers, findLayer, rebuildModel, type LayerEntry } from './topology.js';
import type { Adapter, AdapterConfigBase, AdapterMethod, InjectionReport, MergeOptions, MergeReport, MergedLayer, ParameterCount } from './types.js';

export interface PeftModelOptions {
  /** Also called with each warning (unmatched targets, re-quantized merges); they are kept in `warnings` either way. Library code never prints. */
  warn?: (message: string) => void;
}

/**
 * A model with an adapter method injected: the generic engine. It matches targets, rebuilds the
 * model with adapted layers (the base model is never modified), freezes what the method says is
 * not adapter weight, merges into a plain model and back, counts, saves and loads.
 */
export class PeftModel<C extends AdapterConfigBase = AdapterConfigBase> implements Adapter {
  private adapted: tf.LayersModel | undefined;
  private mergedModel: tf.LayersModel | undefined;
  private injection: InjectionReport | undefined;
  private frozen = false;
  private active = true;
  private readonly onWarning: ((message: string) => void) | undefined;
  /** Every warning so far, in order. */
  readonly warnings: string[] = [];

  constructor(
    readonly method: AdapterMethod<C>,
    readonly config: C,
    options: PeftModelOptions = {},
  ) {
    this.onWarning = options.warn;
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.onWarning?.(message);
  }

  get peftType(): string {
    return this.method.peftType;
  }

  /** The current model: the merged one while merged, else the adapted one. */
  get model(): tf.LayersModel {
    const model = this.mergedModel ?? this.adapted;
    if (model === undefined) throw new BitNetError('INVALID_ARGUMENT', 'no model yet: call inject(model) first', { field: 'model' });
    return model;
  }

  get report(): InjectionReport {
    if (this.injection === undefined) throw new BitNetError('INVALID_ARGUMENT', 'no model yet: call inject(model) first');
    return this.injection;
  }

  get merged(): boolean {
    return this.mergedModel !== undefined;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  get enabled(): boolean {
    return this.active;
  }

  private adaptedModel(): tf.LayersModel {
    if (this.adapted === undefined) throw new BitNetError('INVALID_ARGUMENT', 'no model yet: call inject(model) first');
    return this.adapted;
  }

  inject(base: tf.LayersModel): { model: tf.LayersModel; report: InjectionReport } {
    if (this.adapted !== undefined) throw new BitNetError('INVALID_ARGUMENT', 'this adapter is already injected; create a new one');
    const match = matchTargets(candidateLayers(base), this.config, (c) => this.method.supports(c), this.method.peftType);
    const replace = new Map<string, LayerEntry>(match.matched.map((path) => [path, this.method.adaptedEntry(findLayer(base, path), this.config)]));
    this.adapted = rebuildModel(base, replace, (path, layer) => this.method.initialize(layer, findLayer(base, path), this.config, path));
    this.injection = { peftType: this.method.peftType, ...match };
    match.warnings.forEach((w) => this.warn(w));
    this.freeze();
    return { model: this.adapted, report: this.injection };
  }

  /** Trains only adapter weights and modulesToSave; everything else is frozen (the state after inject). */
  freeze(): void {
    const { matched, modulesToSave } = this.report;
    for (const { path, layer } of modelLayers(this.adaptedModel())) {
      const decide = (w: (typeof layer.weights)[number]): boolean =>
        matched.includes(path) ? this.method.isAdapterWeight(layer, w) : modulesToSave.includes(path);
      const flags = layer.weights.map(decide);
      layer.trainable = flags.some((f) => f);
      layer.weights.forEach((w, i) => (w.trainable = flags[i] as boolean));
    }
    this.frozen = true;
  }

  /** Makes every weight trainable (full fine-tuning). Compile the model again after freeze/unfreeze. */
  unfreeze(): void {
    for (const { layer } of modelLayers(this.adaptedModel())) {
      layer.trainable = true;
      layer.weights.forEach((w) => (w.trainable = true));
    }
    this.frozen = false;
  }

  enable(): void {
    this.setEnabled(true);
  }

  /** The base model's behaviour, with the adapter weights kept. */
  disable(): void {
    this.setEnabled(false);
  }

  private setEnabled(on: boolean): void {
    if (this.merged) throw new BitNetError('INVALID_ARGUMENT', 'the adapter is merged; unmerge() before enabling or disabling it');
    const model = this.adaptedModel();
    for (const path of this.report.matched) this.method.setEnabled(findLayer(model, path), on);
    this.active = on;
  }

  /**
   * Folds the adapter into plain layers (a new model; `model` points at it). The adapted model is
   * kept, so unmerge() restores it bit-exactly.
   */
  merge(options: MergeOptions = {}): MergeReport {
    const report: MergeReport = { merged: [], requantized: [], kept: [], warnings: [] };
    if (this.merged) return report;
    if (!this.active) throw new BitNetError('INVALID_ARGUMENT', 'the adapter is disabled; enable() it before merging');
    const adapted = this.adaptedModel();
    const results = new Map<string, MergedLayer>();
    for (const path of this.report.matched) {
      const result = this.method.merge(findLayer(adapted, path), this.config, options);
      if (result === null) {
        report.kept.push(path);
        continue;
      }
      results.set(path, result);
      report.merged.push(path);
      if (result.requantized) report.requantized.push(path);
    }
    if (report.requantized.length > 0) {
      report.warnings.push(
        `merging re-quantized ${report.requantized.join(', ')}: the merged ternary weights differ from base + adapter; ` +
          "pass { ternaryBase: 'keep' } to keep these adapters unmerged",
      );
    }
    const entries = new Map([...results].map(([path, r]) => [path, r.entry]));
    this.mergedModel = rebuildModel(adapted, entries, (path, layer) => setWeightsByName(layer, (results.get(path) as MergedLayer).weights));
    for (const r of results.values()) tf.dispose(Object.values(r.weights));
    report.warnings.forEach((w) => this.warn(w));
    return report;
  }

  unmerge(): void {
    if (this.mergedModel === undefined) return;
    this.mergedModel.dispose();
    this.mergedModel = undefined;
  }

  countParameters(): ParameterCount {
    return countParameters(this.model);
  }

  printTrainableParameters(log: (line: string) => void = console.log): string {
    const line = formatTrainableParameters(this.countParameters());
    log(line);
    return line;
  }

  /** Writes adapter_config.json + adapter_model.safetensors (the PEFT layout) to `dir`. */
  async save(dir: string): Promise<void> {
    await saveAdapter(dir, this.method, this.config, this.report, this.adaptedModel());
  }

  /** Loads adapter weights saved by save() into the injected model. */
  async load(dir: string): Promise<void> {
    await loadAdapterWeights(dir, this.method, this.config, this.report, this.adaptedModel());
    this.mergedModel?.dispose();
    this.mergedModel = undefined;
  }

  dispose(): void {
    this.mergedModel?.dispose();
    this.adapted?.dispose();
    this.mergedModel = undefined;
    this.adapted = undefined;
  }
}
