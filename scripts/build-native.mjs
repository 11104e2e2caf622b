// Builds the native kernels (src/kernels/native/*.c) into build/ternary.node with the system
// C compiler and the N-API headers of the npm package node-api-headers. node-gyp is not used:
// it downloads Node's headers from nodejs.org, which this project's machines cannot reach, and
// an N-API addon of a few C files needs nothing it provides. Does not fail the install: without a compiler,
// or with BITNET_NO_NATIVE=1, the package runs on the WebAssembly tier. BITNET_REQUIRE_NATIVE=1 (CI)
// makes a failed build fail the install instead of silently dropping the native tier.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'ternary.node');
const say = (m) => console.log(`bitnet-quantize: ${m}`);

if (process.env.BITNET_NO_NATIVE === '1') {
  rmSync(out, { force: true });
  say('native kernels disabled (BITNET_NO_NATIVE=1); using the WebAssembly tier');
  process.exit(0);
}
const require = createRequire(import.meta.url);
let include;
try {
  include = require('node-api-headers').include_dir;
} catch {
  include = '/usr/include/node';
}
const cc = process.env.CC ?? 'cc';
const SOURCES = ['addon.c', 'entry.c', 'ternary.c', 'ternary-arm.c', 'half.c', 'ggml.c', 'attention.c', 'silu.c', 'pool.c', 'sgemm.c', 'adamw.c', 'train.c'];
mkdirSync(join(root, 'build'), { recursive: true });
const tmp = join(root, 'build', `ternary.${process.pid}.tmp.node`);
try {
  execFileSync(
    cc,
    [
      '-O3',
      '-std=gnu11',
      '-shared',
      '-fPIC',
      '-pthread',
      '-ffp-contract=off',
      '-fno-trapping-math',
      '-Wall',
      `-I${include}`,
      '-DNODE_GYP_MODULE_NAME=ternary',
      ...SOURCES.map((f) => join(root, 'src/kernels/native', f)),
      '-o',
      tmp,
      '-lm',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const addon = require(tmp);
  const isa = addon.features();
  rmSync(out, { force: true });
  renameSync(tmp, out);
  say(`native kernels built (${isa}): build/ternary.node`);
} catch (error) {
  rmSync(tmp, { force: true });
  say(`native kernels not built (${error.message.split('\n')[0]}); using the WebAssembly tier`);
  if (process.env.BITNET_REQUIRE_NATIVE === '1') process.exit(1);
}
