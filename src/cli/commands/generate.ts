import type { Argv, CommandModule } from 'yargs';
import { selectBackend } from '../../backend.js';
import { BitnetRunner, type Numerics } from '../../inference/bitnet-forward.js';
import { BitNetError } from '../../errors.js';
import { generate } from '../../inference/generate.js';
import { GpuProjections } from '../../inference/gpu-projections.js';
import { loadLmWeights } from '../../inference/load-lm.js';
import { ByteTokenizer } from '../../tokenizer/byte-tokenizer.js';
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
  json: boolean;
}

export function generateCommand(ctx: CliContext): CommandModule<object, GenerateArgs> {
  return {
    command: 'generate <source>',
    describe: 'Generate text with a BitNet LM (a run folder or a .gguf) on the packed ternary kernels',
    builder: (yargs: Argv) =>
      yargs
        .positional('source', { type: 'string', demandOption: true, describe: 'run folder, model folder or bitnet .gguf' })
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
        .option('json', { type: 'boolean', default: false })
        .example('$0 generate runs/shakespeare-lm-bitnet --prompt "ROMEO:"', 'sample from a trained run')
        .example('$0 generate lm.gguf --temperature 0 --numerics llama.cpp', 'what llama.cpp would generate, greedily')
        .example('$0 generate lm.gguf --backend webgpu', 'projections on the GPU (WGSL kernels)') as unknown as Argv<GenerateArgs>,
    handler: async (args) => {
      await selectBackend('cpu');
      const weights = await loadLmWeights(args.source);
      const tokenizer = new ByteTokenizer();
      if (args.backend === 'webgpu' && args.numerics !== 'bitnet') {
        throw new BitNetError('INVALID_ARGUMENT', '--backend webgpu runs BitNet numerics (per-token int8); llama.cpp numerics run on the CPU', {
          field: 'numerics',
        });
      }
      const gpu = args.backend === 'webgpu' ? await GpuProjections.open(weights) : undefined;
      if (gpu !== undefined) ctx.io.err(`projections on WebGPU: ${gpu.adapter}`);
      const runner = new BitnetRunner(weights, args.numerics, gpu === undefined ? {} : { gpu });
      const pending: number[] = [];
      const result = await generate(runner, tokenizer.encode(args.prompt), {
        maxTokens: args.maxTokens,
        temperature: args.temperature,
        topK: args.topK,
        seed: args.seed,
        ...(args.json ? {} : { onToken: (t: number) => pending.push(t) }),
      });
      const text = tokenizer.decode(result.tokens);
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
      ctx.io.out(`${args.prompt}${text}`);
      ctx.io.err(`${result.tokens.length} tokens, ${result.tokensPerSecond.toFixed(1)} tokens/s (prompt ${result.promptTokensPerSecond.toFixed(1)} tokens/s)`);
    },
  };
}
