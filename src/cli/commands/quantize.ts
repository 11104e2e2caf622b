import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { BitNetError } from '../../errors.js';
import { parseBitNetConfig, type BitNetPresetName } from '../../config.js';
import { quantizeWeights, type GroupSize } from '../../quant/weight.js';
import { packHfWeights, packTernary2, packTernaryBase3 } from '../../quant/pack.js';
import { summarizeTernary } from '../../quant/summary.js';
import { WEIGHT_STORAGE_FORMATS } from '../../quant/storage.js';
import { randomNormalArray } from '../../util/random.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../../report/table.js';

const PACK_FORMATS = {
  packed2: packTernary2,
  base3: packTernaryBase3,
  hf: packHfWeights,
} as const;

type PackFormat = keyof typeof PACK_FORMATS;

interface QuantizeArgs {
  rows: number;
  cols: number;
  seed: number;
  std: number;
  groupSize: string | undefined;
  preset: string;
  input: string | undefined;
  out: string | undefined;
  packFormat: PackFormat;
  json: boolean;
}

function parseGroupSize(raw: string | undefined, fallback: GroupSize): GroupSize {
  if (raw === undefined) return fallback;
  if (raw === 'tensor') return 'tensor';
  const n = Number(raw);
  if (!Number.isInteger(n)) {
    throw new BitNetError('INVALID_ARGUMENT', `--group-size must be 'tensor' or a power of two, got '${raw}'`, {
      field: 'group-size',
    });
  }
  return n;
}

async function loadMatrix(args: QuantizeArgs): Promise<Float32Array> {
  if (args.input === undefined) return randomNormalArray(args.rows * args.cols, args.seed, args.std);
  let bytes: Buffer;
  try {
    bytes = await readFile(args.input);
  } catch (cause) {
    throw new BitNetError('FILE_NOT_FOUND', `cannot read --input ${args.input}`, { field: 'input', cause });
  }
  const expected = args.rows * args.cols * 4;
  if (bytes.length !== expected) {
    throw new BitNetError('INVALID_SHAPE', `--input has ${bytes.length} bytes; --rows ${args.rows} --cols ${args.cols} float32 needs ${expected}`, {
      field: 'input',
      hint: 'the input is raw little-endian float32, row-major [rows, cols]',
    });
  }
  const data = new Float32Array(args.rows * args.cols);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  return data;
}

export async function runQuantize(args: QuantizeArgs, io: CliIo): Promise<void> {
  const config = parseBitNetConfig(args.preset as BitNetPresetName);
  const groupSize = parseGroupSize(args.groupSize, config.groupSize);
  const data = await loadMatrix(args);
  const started = performance.now();
  const weight = quantizeWeights(data, [args.rows, args.cols], { groupSize, eps: config.eps });
  const quantizeMs = performance.now() - started;
  const summary = summarizeTernary(data, weight);
  if (args.out !== undefined) {
    await writeFileAtomic(args.out, PACK_FORMATS[args.packFormat](weight.values, weight.shape));
  }
  if (args.json) {
    io.out(JSON.stringify({ source: args.input ?? `random normal (seed ${args.seed})`, quantizeMs, ...summary, out: args.out ?? null }));
    return;
  }
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  const n = weight.values.length;
  io.out(`quantized ${args.rows}x${args.cols} ${args.input ?? `random normal matrix (seed ${args.seed}, std ${args.std})`}`);
  io.out(
    `  group size     ${String(summary.groupSize)} (${summary.scaleCount} scale${summary.scaleCount === 1 ? '' : 's'}, beta ${summary.scaleMin.toPrecision(6)}${summary.scaleCount > 1 ? ` .. ${summary.scaleMax.toPrecision(6)}` : ''})`,
  );
  io.out(`  -1 / 0 / +1    ${pct(summary.counts.minusOne / n)} / ${pct(summary.counts.zero / n)} / ${pct(summary.counts.plusOne / n)}`);
  io.out(`  relative error ${summary.relativeError.toFixed(4)}  (||W - beta*q|| / ||W||)`);
  io.out(`  time           ${quantizeMs.toFixed(1)} ms`);
  const rows = [['format', 'bytes', 'bits/weight', 'vs f32']];
  for (const format of WEIGHT_STORAGE_FORMATS) {
    rows.push([
      format,
      summary.bytes[format].toLocaleString('en-US'),
      summary.bitsPerWeight[format].toFixed(3),
      `${(summary.bytes.f32 / summary.bytes[format]).toFixed(2)}x`,
    ]);
  }
  io.out(formatTable(rows));
  if (args.out !== undefined) io.out(`wrote ${args.packFormat} codes to ${args.out}`);
}

export function quantizeCommand(io: CliIo): CommandModule<object, QuantizeArgs> {
  return {
    command: 'quantize',
    describe: 'Quantize a weight matrix to ternary (absmean) and report error and packed sizes',
    builder: (yargs: Argv) =>
      yargs
        .option('rows', { type: 'number', default: 2560, describe: 'out_features' })
        .option('cols', { type: 'number', default: 6912, describe: 'in_features' })
        .option('seed', { type: 'number', default: 0, describe: 'seed of the generated matrix' })
        .option('std', { type: 'number', default: 0.02, describe: 'std of the generated matrix' })
        .option('group-size', { type: 'string', describe: "'tensor' or a power of two (overrides the preset)" })
        .option('preset', { type: 'string', default: 'paper', choices: ['paper', 'grouped'] })
        .option('input', { type: 'string', describe: 'raw little-endian float32 file, row-major [rows, cols]' })
        .option('out', { type: 'string', describe: 'write the packed ternary codes to this file' })
        .option('pack-format', { type: 'string', default: 'packed2', choices: Object.keys(PACK_FORMATS) })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
        .example('$0 quantize', 'a random 2560x6912 matrix (a BitNet-2B FFN shape), per-tensor scale')
        .example('$0 quantize --rows 4096 --cols 4096 --group-size 128', 'per-group scales')
        .example('$0 quantize --input w.f32 --rows 512 --cols 1024 --out w.tq2', 'your own weights, packed') as unknown as Argv<QuantizeArgs>,
    handler: (args) => runQuantize(args, io),
  };
}
