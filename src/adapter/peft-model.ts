import * as tf from '@tensorflow/tfjs';
import { setWeightsByName } from '../nn/weights.js';
import { cloneWeights, sameAdapterLayout, unwrapAdapted, weightedAdapter, type NamedAdapter } from './named-adapters.js';
import { BitNetError } from '../errors.js';
import { countParameters, formatTrainableParameters } from './params.js';
import { join } from 'node:path';
import { parseSafetensors } from '../formats/safetensors/reader.js';
import { adapterBytes, loadAdapterFile, readAdapterBytes, readAdapterConfig, writeAdapterFolder } from './io.js';
import { zodToBitNetError } from '../config.js';
import { matchTargets } from './targets.js';
import { modelLayers } from '../nn/model-layers.js';
import { candidateLayers, findLayer, rebuildModel, type LayerEntry } from './topology.js';
import type { Adapter, AdapterConfigBase, AdapterMethod, InjectionReport, MergeOptions, MergeReport, MergedLayer, ParameterCount } from './types.js';

export interface PeftModelOptions {
  /** Also called with each warning (unmatched targets, re-quantized merges); they are kept in `warnings` either way. Library code never prints. */
  warn?: (message: string) => void;
  /** The first adapter's name (peft's adapter_name). Default 'default'. */
  adapterName?: string;
}

export const DEFAULT_ADAPTER = 'default';

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
  private readonly named = new Map<string, NamedAdapter<C>>();
  private activeName: string;
  /** The base model's values of every layer an adapter saves (modulesToSave), taken before any adapter trained them. */
  private readonly originals = new Map<string, Record<string, tf.Tensor>>();
  /** The active adapter's modulesToSave values while it is disabled (the originals stand in). */
  private stash: Map<string, Record<string, tf.Tensor>> | undefined;
  /** Every warning so far, in order. */
  readonly warnings: string[] = [];

  constructor(
    readonly method: AdapterMethod<C>,
    config: C,
    options: PeftModelOptions = {},
  ) {
    this.onWarning = options.warn;
    this.activeName = options.adapterName ?? DEFAULT_ADAPTER;
    this.named.set(this.activeName, { config });
  }

  /** The active adapter's config. */
  get config(): C {
    return (this.named.get(this.activeName) as NamedAdapter<C>).config;
  }

  /** The active adapter's name (peft's active_adapter). */
  get activeAdapter(): string {
    return this.activeName;
  }

  /** Every adapter's name, in the order they were added. */
  get adapterNames(): string[] {
    return [...this.named.keys()];
  }

  /** A named adapter's config. */
  adapterConfig(name: string): C {
    return this.namedAdapter(name).config;
  }

  private namedAdapter(name: string): NamedAdapter<C> {
    const adapter = this.named.get(name);
    if (adapter === undefined) {
      throw new BitNetError('INVALID_ARGUMENT', `no adapter named '${name}'`, { field: 'adapterName', hint: `adapters: ${this.adapterNames.join(', ')}` });
    }
    return adapter;
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
    this.injectActive(base);
    return { model: this.adaptedModel(), report: this.report };
  }

  /** The adapted model of `config` built from `base` (not modified), and what matched; originals of its modulesToSave kept. */
  private buildAdapted(base: tf.LayersModel, config: C): { model: tf.LayersModel; report: InjectionReport } {
    const match = matchTargets(candidateLayers(base), config, (c, layer) => this.method.supports(c, layer), this.method.peftType);
    for (const path of match.modulesToSave) if (!this.originals.has(path)) this.originals.set(path, cloneWeights(findLayer(base, path)));
    const replace = new Map<string, LayerEntry>(match.matched.map((path) => [path, this.method.adaptedEntry(findLayer(base, path), config)]));
    const model = rebuildModel(base, replace, (path, layer) => this.method.initialize(layer, findLayer(base, path), config, path));
    return { model, report: { peftType: this.method.peftType, ...match } };
  }

  /** Builds the adapted model of the active adapter from `base` (not modified), with its saved weights when it has them. */
  private injectActive(base: tf.LayersModel): void {
    const adapter = this.named.get(this.activeName) as NamedAdapter<C>;
    const { model, report } = this.buildAdapted(base, adapter.config);
    this.adapted = model;
    this.injection = report;
    report.warnings.forEach((w) => this.warn(w));
    if (adapter.bytes !== undefined) {
      loadAdapterFile(parseSafetensors(adapter.bytes), this.method, adapter.config, report, model);
      delete adapter.bytes;
    }
    this.freeze();
  }

  /**
   * Adds a named adapter of the same method with fresh weights (peft's add_adapter); the active
   * adapter stays active and its model is untouched (setAdapter switches).
   */
  addAdapter(name: string, config: C): void {
    this.requireNewName(name);
    this.requireSwitchable();
    const base = this.unwrapped();
    try {
      const { model, report } = this.buildAdapted(base, config);
      report.warnings.forEach((w) => this.warn(w));
      this.named.set(name, { config, bytes: adapterBytes(this.method, config, report, model) });
      model.dispose();
    } finally {
      base.dispose();
    }
  }

  /** Loads a saved adapter folder (of this method) under `name`, not activated (peft's load_adapter). */
  async loadAdapter(dir: string, name: string): Promise<void> {
    this.requireNewName(name);
    this.requireSwitchable();
    const json = await readAdapterConfig(dir);
    if (json.peft_type !== this.method.peftType) {
      throw new BitNetError('INVALID_ARGUMENT', `${dir} holds a ${String(json.peft_type)} adapter; this model's adapters are ${this.method.peftType}`, {
        field: 'peft_type',
      });
    }
    const parsed = this.method.schema.safeParse(this.method.fromPeftJson(json));
    if (!parsed.success) throw zodToBitNetError(parsed.error, `${this.method.peftType} adapter config in ${dir}`);
    const bytes = await readAdapterBytes(dir);
    this.method.checkSaved?.(parseSafetensors(bytes).header.tensors, parsed.data);
    this.named.set(name, { config: parsed.data, bytes });
  }

  /**
   * Makes a named adapter the active one (peft's set_adapter): it computes, trains and saves as
   * the model's adapter; the others keep their weights. Adapters of the same layout (targets,
   * rank, alpha) swap values into the same model; others rebuild it, so `model` is a new object
   * (compile it again).
   */
  setAdapter(name: string): void {
    const next = this.namedAdapter(name);
    if (name === this.activeName) return;
    this.requireSwitchable();
    if (this.merged) throw new BitNetError('INVALID_ARGUMENT', 'the adapter is merged; unmerge() before switching adapters');
    if (!this.active) throw new BitNetError('INVALID_ARGUMENT', 'adapters are disabled; enable() before switching');
    const current = this.named.get(this.activeName) as NamedAdapter<C>;
    const adapted = this.adaptedModel();
    current.bytes = adapterBytes(this.method, current.config, this.report, adapted);
    if (next.bytes !== undefined && sameAdapterLayout(current.config, next.config)) {
      loadAdapterFile(parseSafetensors(next.bytes), this.method, next.config, this.report, adapted);
      delete next.bytes;
      this.activeName = name;
      return;
    }
    const base = this.unwrapped();
    adapted.dispose();
    this.adapted = undefined;
    this.activeName = name;
    try {
      this.injectActive(base);
    } finally {
      base.dispose();
    }
  }

  /**
   * A new named adapter from existing ones (peft's add_weighted_adapter; LoRA: 'linear' or 'cat'),
   * not activated. The adapters must target the same layers and save no modules.
   */
  addWeightedAdapter(adapters: readonly string[], weights: readonly number[], name: string, combinationType = 'cat'): void {
    this.requireNewName(name);
    this.named.set(name, weightedAdapter(this.method, this.adapterFiles(), adapters, weights, combinationType));
  }

  /** Removes a named adapter (peft's delete_adapter); deleting the active one activates the first other. */
  deleteAdapter(name: string): void {
    this.namedAdapter(name);
    if (this.named.size === 1)
      throw new BitNetError('INVALID_ARGUMENT', `'${name}' is the only adapter; dispose() the model instead`, { field: 'adapterName' });
    if (name === this.activeName) this.setAdapter(this.adapterNames.find((n) => n !== name) as string);
    this.named.delete(name);
  }

  /** Every adapter's tensors in peft's layout, the active one read from the model. */
  adapterFiles(): Map<string, { config: C; bytes: Uint8Array }> {
    const out = new Map<string, { config: C; bytes: Uint8Array }>();
    for (const [name, adapter] of this.named) {
      const bytes = name === this.activeName ? adapterBytes(this.method, adapter.config, this.report, this.adaptedModel()) : adapter.bytes;
      if (bytes === undefined) throw new BitNetError('INTERNAL', `adapter '${name}' has no weights`);
      out.set(name, { config: adapter.config, bytes });
    }
    return out;
  }

  private requireNewName(name: string): void {
    if (this.named.has(name)) throw new BitNetError('INVALID_ARGUMENT', `an adapter named '${name}' exists already`, { field: 'adapterName' });
  }

  private requireSwitchable(): void {
    if (this.method.unwrap === undefined) {
      throw new BitNetError('UNSUPPORTED', `${this.method.peftType} takes one adapter per model`, {
        field: 'peftType',
        hint: 'LoRA adapters can be named and switched',
      });
    }
  }

  /** The base model under the adapters: adapted layers unwrapped, modulesToSave back to their original values (a new model). */
  private unwrapped(): tf.LayersModel {
    return unwrapAdapted(this.method, this.adaptedModel(), this.report, this.originals);
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

  /** The base model's outputs exactly (peft's disable_adapter): adapted layers off, modulesToSave back to their original values; the adapter's weights are kept for enable(). */
  disable(): void {
    this.setEnabled(false);
  }

  /** disable() under peft's name. */
  disableAdapter(): void {
    this.disable();
  }

  private setEnabled(on: boolean): void {
    if (this.merged) throw new BitNetError('INVALID_ARGUMENT', 'the adapter is merged; unmerge() before enabling or disabling it');
    if (on === this.active) return;
    const model = this.adaptedModel();
    for (const path of this.report.matched) this.method.setEnabled(findLayer(model, path), on);
    if (!on) {
      this.stash = new Map(this.report.modulesToSave.map((path) => [path, cloneWeights(findLayer(model, path))]));
      for (const path of this.report.modulesToSave) setWeightsByName(findLayer(model, path), this.originals.get(path) as Record<string, tf.Tensor>);
    } else if (this.stash !== undefined) {
      for (const [path, values] of this.stash) {
        setWeightsByName(findLayer(model, path), values);
        tf.dispose(Object.values(values));
      }
      this.stash = undefined;
    }
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

  /**
   * Writes every adapter in peft's layout: adapter_config.json + adapter_model.safetensors, the
   * adapter named 'default' in `dir` and each other one in `dir/<name>` (save_pretrained's layout).
   */
  async save(dir: string): Promise<void> {
    if (!this.active) throw new BitNetError('INVALID_ARGUMENT', 'adapters are disabled; enable() before saving');
    for (const [name, { config, bytes }] of this.adapterFiles()) {
      await writeAdapterFolder(name === DEFAULT_ADAPTER ? dir : join(dir, name), this.method, config, bytes);
    }
  }

  /** Loads adapter weights saved by save() into the active adapter. */
  async load(dir: string): Promise<void> {
    const bytes = await readAdapterBytes(dir);
    loadAdapterFile(parseSafetensors(bytes), this.method, this.config, this.report, this.adaptedModel());
    this.mergedModel?.dispose();
    this.mergedModel = undefined;
  }

  dispose(): void {
    this.mergedModel?.dispose();
    this.adapted?.dispose();
    this.mergedModel = undefined;
    this.adapted = undefined;
    for (const values of [...this.originals.values(), ...(this.stash?.values() ?? [])]) tf.dispose(Object.values(values));
    this.originals.clear();
    this.stash = undefined;
  }
}
