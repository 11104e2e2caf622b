import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BACKEND_NAMES, selectBackend, type BackendName } from '../../backend.js';
import { BitNetError } from '../../errors.js';
import { openEvalSource } from '../../eval/eval-source.js';
import { evaluateData, type EvalResult } from '../../eval/evaluate-data.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { CliContext } from '../context.js';

interface EvalArgs {
  source: string;
  data: string;
  context?: number | undefined;
  from: number;
  trainOn: 'completion' | 'all';
  limit?: number | undefined;
  tokenizer?: string | undefined;
  out?: string | undefined;
  json: boolean;
  backend: BackendName;
}

function checkArgs(args: EvalArgs): void {
  if (!existsSync(args.data)) throw new BitNetError('FILE_NOT_FOUND', `no data file at ${args.data}`, { field: 'data' });
  if (!(args.from >= 0 && args.from < 1))
    throw new BitNetError('INVALID_ARGUMENT', `--from must be at least 0 and below 1, got ${args.from}`, { field: 'from' });
  for (const [name, value] of [
    ['context', args.context],
    ['limit', args.limit],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 2)) {
      throw new BitNetError('INVALID_ARGUMENT', `--${name} must be a whole number of at least 2, got ${value}`, { field: name });
    }
  }
}

/** The metrics as lines a person reads. */
export function describeEval(r: EvalResult): string[] {
  if (r.task === 'multiple-choice') {
    return [`multiple choice: ${r.items} items`, `acc       ${r.acc.toFixed(4)}`, `acc_norm  ${r.accNorm.toFixed(4)}`];
  }
  return [
    `language model: ${r.windows} windows of up to ${r.contextLength} tokens, ${r.targets} targets covering ${r.bytes} bytes`,
    `loss            ${r.loss.toFixed(4)} nats/token`,
    `perplexity      ${r.perplexity.toFixed(3)}`,
    `bits per byte   ${r.bitsPerByte.toFixed(4)}`,
    `next-token acc  ${(r.accuracy * 100).toFixed(2)} %`,
  ];
}

export function evalCommand(ctx: CliContext): CommandModule<object, EvalArgs> {
  return {
    command: 'eval <source>',
    describe: 'Evaluate a language model (a run folder, an HF model folder or a .gguf) on text, JSONL/Parquet records or multiple-choice items',
    builder: (yargs: Argv) =>
      yargs
        .positional('source', { type: 'string', demandOption: true, describe: 'run folder, HF model folder, or .gguf' })
        .option('data', {
          type: 'string',
          demandOption: true,
          describe: '.txt (one text), or .jsonl/.parquet records: messages, prompt/completion, text, or context/choices/gold (multiple choice)',
        })
        .option('context', { type: 'number', describe: 'window length in tokens (default 256, at most the model context)' })
        .option('from', {
          type: 'number',
          default: 0,
          describe: "evaluate from this fraction of a text file's ids, or of the records, on (0.9: the last 10 %)",
        })
        .option('train-on', {
          type: 'string',
          choices: ['completion', 'all'] as const,
          default: 'completion' as const,
          describe: 'records: score completion / assistant tokens only, or all',
        })
        .option('limit', { type: 'number', describe: 'score at most this many windows or items' })
        .option('tokenizer', { type: 'string', describe: 'the HF folder whose tokenizer goes with a converted llama/qwen .gguf' })
        .option('out', { type: 'string', describe: 'write the metrics as JSON here (default for a run folder: <run>/eval.json)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the metrics as one JSON object' })
        .option('backend', {
          type: 'string',
          choices: BACKEND_NAMES,
          default: 'wasm',
          describe: 'TensorFlow.js backend of tfjs models (runs and HF folders)',
        })
        .example('$0 eval ../shared/models/shakespeare-llama-21m --data data/tinyshakespeare.txt --from 0.9', 'validation loss, perplexity and bits per byte')
        .example('$0 eval runs/shakespeare-chat-bitnet --data data/shakespeare-chat.jsonl', 'loss on the assistant replies')
        .example('$0 eval model.gguf --data choices.jsonl', 'acc and acc_norm on {context, choices, gold} items') as unknown as Argv<EvalArgs>,
    handler: async (args) => {
      checkArgs(args);
      await selectBackend(args.backend);
      const source = await openEvalSource(args.source, args.tokenizer);
      let result: EvalResult;
      try {
        result = await evaluateData(source, args.data, { contextLength: args.context, from: args.from, trainOn: args.trainOn, limit: args.limit });
      } finally {
        source.dispose();
      }
      const record = { source: resolve(args.source), data: resolve(args.data), engine: source.engine, ...result };
      const out = args.out ?? (existsSync(join(args.source, 'recipe.json')) ? join(args.source, 'eval.json') : undefined);
      if (out !== undefined) await writeFileAtomic(out, `${JSON.stringify(record, null, 2)}\n`);
      if (args.json) ctx.io.out(JSON.stringify(record));
      else ctx.io.out([...describeEval(result), ...(out === undefined ? [] : [`written to ${out}`])].join('\n'));
    },
  };
}
