import type { Argv, CommandModule } from 'yargs';
import { kernelReport, resolveKernels } from '../../kernels/registry.js';
import { formatTable } from '../../report/table.js';
import { defaultThreads, settings } from '../../settings.js';
import type { CliContext } from '../context.js';

interface KernelsArgs {
  json: boolean;
}

export function kernelsCommand(ctx: CliContext): CommandModule<object, KernelsArgs> {
  return {
    command: 'kernels',
    describe: 'Show the kernel tiers (webgpu, native, wasm, reference), what each offers here, and which are active',
    builder: (yargs: Argv) =>
      yargs
        .option('json', { type: 'boolean', default: false })
        .example('$0 kernels', 'webgpu (WGSL), native (AVX-512 VNNI / AVX2 / C), wasm (SIMD128), reference (TypeScript)')
        .example('BITNET_KERNEL=reference $0 kernels', 'make every path run the TypeScript oracle'),
    handler: async (args) => {
      const report = await kernelReport();
      const kernels = resolveKernels();
      const info = {
        requested: settings().kernel,
        active: kernels.tier,
        providers: kernels.providers,
        threads: defaultThreads(),
        inference: settings().inference,
        tiers: report,
      };
      if (args.json) {
        ctx.io.out(JSON.stringify(info));
        return;
      }
      const uses = (name: string): string =>
        Object.entries(kernels.providers)
          .filter(([, t]) => t === name)
          .map(([c]) => c)
          .join(', ');
      ctx.io.out(
        formatTable([
          ['tier', 'available', 'offers', 'in use for', 'runs on'],
          ...report.map((r) => [r.name, r.available ? 'yes' : 'no', r.capabilities.join(', '), uses(r.name), r.detail]),
        ]),
      );
      ctx.io.out(
        `kernel: ${info.requested} (BITNET_KERNEL=auto|webgpu|native|wasm|reference); threads: ${info.threads} (BITNET_THREADS); BitLinear inference: ${info.inference} (BITNET_INFERENCE)`,
      );
    },
  };
}
