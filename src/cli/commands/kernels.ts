import type { Argv, CommandModule } from 'yargs';
import { inferenceEngine } from '../../kernels/engine.js';
import { defaultThreads, kernelReport, selectKernelTier } from '../../kernels/select.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../table.js';

interface KernelsArgs {
  json: boolean;
}

export function kernelsCommand(ctx: CliContext): CommandModule<object, KernelsArgs> {
  return {
    command: 'kernels',
    describe: 'Show the packed ternary kernel tiers built here and which one is active',
    builder: (yargs: Argv) =>
      yargs
        .option('json', { type: 'boolean', default: false })
        .example('$0 kernels', 'native (AVX-512 VNNI / AVX2 / C), wasm (SIMD128), reference (TypeScript)')
        .example('BITNET_KERNEL=wasm $0 kernels', 'force a tier') as unknown as Argv<KernelsArgs>,
    handler: (args) => {
      const report = kernelReport();
      const active = selectKernelTier();
      const info = { active: active.name, detail: active.detail, threads: defaultThreads(), inference: inferenceEngine().engine, tiers: report };
      if (args.json) {
        ctx.io.out(JSON.stringify(info));
        return;
      }
      ctx.io.out(formatTable([['tier', 'available', 'runs on'], ...report.map((r) => [`${r.name}${r.name === active.name ? ' (active)' : ''}`, r.available ? 'yes' : 'no', r.detail])]));
      ctx.io.out(`threads: ${info.threads} (BITNET_THREADS); tier override: BITNET_KERNEL=native|wasm|reference; BitLinear inference engine: ${info.inference}`);
    },
  };
}
