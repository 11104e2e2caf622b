import type { Argv, CommandModule } from 'yargs';
import { selectBackend } from '../../backend.js';
import { BitnetRunner, type Numerics } from '../../inference/bitnet-forward.js';
import { BitNetError } from '../../errors.js';
import { generate, type TokenRunner } from '../../inference/generate.js';
import { loadLlamaGguf } from '../../formats/gguf/llama-gguf.js';
import { withLoraGguf } from '../../formats/gguf/lora-gguf.js';
import { readGgufHeader } from '../../formats/gguf/reader.js';
import { hfRunSource, isHfDir, loadHfLanguageModel } from '../../inference/hf-lm.js';
import { TfjsLmRunner } from '../../inference/tfjs-runner.js';
import { BITNET_ARCHITECTURE } from '../../models/bitnet/spec.js';
import type { BitnetLmWeights } from '../../models/bitnet/weights.js';
import { llamaLmWeights } from '../../models/llama/weights.js';
import { HfTokenizer } from '../../tokenizer/hf-tokenizer.js';
import { GpuProjections } from '../../inference/gpu-projections.js';
import { loadLmWeights } from '../../inference/load-lm.js';
import { ByteTokenizer } from '../../tokenizer/byte-tokenizer.js';
import { TextStream } from '../../inference/text-stream.js';
import type { CliContext } from '../context.js';

interface GenerateArgs {
  source: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  seed: number;
  numerics: Numerics;
  backend: 'cpu' | 'webgpu';
  tokenizer?: string;
  lora?: string;
  json: boolean;
}

interface TextCodec {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/**
 * The runner and tokenizer for a source: a converted HF model's run (ternary runner, the source
 * folder's tokenizer), an HF folder (its full-precision tfjs model), a llama/qwen GGUF (with
 * --tokenizer), or a BitNet LM of this toolkit (bytes).
 */
async function openSource(
  args: GenerateArgs,
  gpuFor: (w: BitnetLmWeights) => Promise<GpuProjections | undefined>,
): Promise<{ runner: TokenRunner; codec: TextCodec; dispose: () => void }> {
  const hfCodec = (t: HfTokenizer): TextCodec => ({ encode: (text) => t.encode(text), decode: (ids) => t.decode(ids) });
  const converted = isHfDir(args.source) || hfRunSource(args.source) !== undefined;
  if (args.lora !== undefined && (converted || (args.source.endsWith('.gguf') && (await ggufArchitecture(args.source)) !== BITNET_ARCHITECTURE))) {
    throw new BitNetError('UNSUPPORTED', '--lora applies a LoRA GGUF to a bitnet-architecture model (a run folder or a bitnet .gguf)', { field: 'lora' });
  }
  if (converted) {
    const lm = await loadHfLanguageModel(args.source);
    if (lm.origin === 'hf') {
      return { runner: new TfjsLmRunner(lm.model, lm.config.contextLength), codec: hfCodec(lm.tokenizer), dispose: () => lm.model.dispose() };
    }
    const weights = llamaLmWeights(lm.model);
    lm.model.dispose();
    const gpu = await gpuFor(weights);
    return { runner: new BitnetRunner(weights, args.numerics, gpu === undefined ? {} : { gpu }), codec: hfCodec(lm.tokenizer), dispose: () => {} };
  }
  if (args.source.endsWith('.gguf') && (await ggufArchitecture(args.source)) !== BITNET_ARCHITECTURE) {
    if (args.tokenizer === undefined) {
      throw new BitNetError('INVALID_ARGUMENT', `${args.source} is a converted HF model: give --tokenizer <the HF folder it came from>`, {
        field: 'tokenizer',
      });
    }
    const weights = await loadLlamaGguf(args.source);
    const gpu = await gpuFor(weights);
    return {
      runner: new BitnetRunner(weights, args.numerics, gpu === undefined ? {} : { gpu }),
      codec: hfCodec(HfTokenizer.fromDir(args.tokenizer)),
      dispose: () => {},
    };
  }
  const base = await loadLmWeights(args.source, { packed: true });
  const weights = args.lora === undefined ? base : await withLoraGguf(base, args.lora);
  const gpu = await gpuFor(weights);
  const bytes = new ByteTokenizer();
  return {
    runner: new BitnetRunner(weights, args.numerics, gpu === undefined ? {} : { gpu }),
    codec: { encode: (t) => bytes.encode(t), decode: (ids) => bytes.decode(ids) },
    dispose: () => {},
  };
}

/** Sampling arguments a person can mistype (yargs gives NaN for words): refused before any loading. */
function checkSampling(args: GenerateArgs): void {
  const rules: [boolean, string, string][] = [
    [Number.isInteger(args.maxTokens) && args.maxTokens >= 1, 'max-tokens', 'a whole number of at least 1'],
    [Number.isFinite(args.temperature) && args.temperature >= 0, 'temperature', 'a number of at least 0 (0 = greedy)'],
    [Number.isInteger(args.topK) && args.topK >= 0, 'top-k', 'a whole number of at least 0 (0 = no limit)'],
    [Number.isSafeInteger(args.seed), 'seed', 'a whole number'],
  ];
  for (const [ok, field, what] of rules) {
    const value = { 'max-tokens': args.maxTokens, temperature: args.temperature, 'top-k': args.topK, seed: args.seed }[field];
    if (!ok) throw new BitNetError('INVALID_ARGUMENT', `--${field} must be ${what}, got ${String(value)}`, { field });
  }
}

export function generateCommand(ctx: CliContext): CommandModule<object, GenerateArgs> {
  return {
    command: 'generate <source>',
    describe: 'Generate text with a BitNet LM (a run folder, a .gguf, or an HF model folder) on the packed ternary kernels',
    builder: (yargs: Argv) =>
      yargs
        .positional('source', { type: 'string', demandOption: true, describe: 'run folder, model folder, .gguf, or HF model folder (full precision)' })
        .option('tokenizer', { type: 'string', describe: 'the HF folder whose tokenizer.json goes with a llama/qwen2/qwen3 .gguf' })
        .option('prompt', { type: 'string', default: 'ROMEO:', describe: 'text to continue' })
        .option('max-tokens', { type: 'number', default: 200 })
        .option('temperature', { type: 'number', default: 0.8, describe: '0 = greedy' })
        .option('top-k', { type: 'number', default: 40, describe: '0 = no limit' })
        .option('seed', { type: 'number', default: 0 })
        .option('numerics', {
          type: 'string',
          choices: ['bitnet', 'llama.cpp'],
          default: 'bitnet',
          describe: "per-token int8 activations, or llama.cpp's Q8_K blocks and f16 rounding",
        })
        .option('backend', {
          type: 'string',
          choices: ['cpu', 'webgpu'],
          default: 'cpu',
          describe: 'where the ternary projections run: the CPU kernels, or the WGSL kernels on a WebGPU device (BitNet numerics)',
        })
        .option('lora', { type: 'string', describe: 'a llama.cpp LoRA adapter GGUF to apply (bitnet export --adapter separate writes one)' })
        .option('json', { type: 'boolean', default: false })
        .example('$0 generate runs/shakespeare-lm-bitnet --prompt "ROMEO:"', 'sample from a trained run')
        .example('$0 generate base.gguf --lora base.lora.gguf --numerics llama.cpp --temperature 0', 'what llama.cpp gives with the adapter')
        .example('$0 generate lm.gguf --temperature 0 --numerics llama.cpp', 'what llama.cpp would generate, greedily')
        .example('$0 generate lm.gguf --backend webgpu', 'projections on the GPU (WGSL kernels)')
        .example('$0 generate runs/hf-to-bitnet --prompt "ROMEO:"', 'a converted HF model (its tokenizer.json)')
        .example('$0 generate ../shared/models/shakespeare-llama-21m', 'an HF checkpoint in full precision') as unknown as Argv<GenerateArgs>,
    handler: async (args) => {
      checkSampling(args);
      await selectBackend('cpu');
      if (args.backend === 'webgpu' && args.numerics !== 'bitnet') {
        throw new BitNetError('INVALID_ARGUMENT', '--backend webgpu runs BitNet numerics (per-token int8); llama.cpp numerics run on the CPU', {
          field: 'numerics',
        });
      }
      const { runner, codec, dispose } = await openSource(args, async (weights) => {
        const gpu = args.backend === 'webgpu' ? await GpuProjections.open(weights) : undefined;
        if (gpu !== undefined) ctx.io.err(`projections on WebGPU: ${gpu.adapter}`);
        return gpu;
      });
      // text streams as tokens come; a token that ends inside a character waits for the next
      const stream = new TextStream(
        (ids) => codec.decode(ids),
        (text) => ctx.io.write(text),
      );
      const onToken = (t: number): void => stream.push(t);
      if (!args.json) ctx.io.write(args.prompt);
      const options = { maxTokens: args.maxTokens, temperature: args.temperature, topK: args.topK, seed: args.seed, ...(args.json ? {} : { onToken }) };
      const result = await Promise.resolve()
        .then(() => generate(runner, codec.encode(args.prompt), options))
        .finally(dispose);
      const text = codec.decode(result.tokens);
      if (args.json) {
        ctx.io.out(
          JSON.stringify({
            prompt: args.prompt,
            text,
            tokens: result.tokens,
            tokensPerSecond: result.tokensPerSecond,
            promptTokensPerSecond: result.promptTokensPerSecond,
          }),
        );
        return;
      }
      ctx.io.out(text.startsWith(stream.printed) ? text.slice(stream.printed.length) : `\n${text}`);
      ctx.io.err(`${result.tokens.length} tokens, ${result.tokensPerSecond.toFixed(1)} tokens/s (prompt ${result.promptTokensPerSecond.toFixed(1)} tokens/s)`);
    },
  };
}

async function ggufArchitecture(path: string): Promise<string> {
  const v = (await readGgufHeader(path)).metadata.get('general.architecture');
  return v?.type === 'string' ? v.value : '';
}
