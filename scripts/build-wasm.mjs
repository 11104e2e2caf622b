// Compiles the WebAssembly SIMD kernel (src/kernels/wasm/ternary-wat.mjs) to build/ternary.wasm.
// Run by `npm run build`; needs the devDependency wabt (a JS build of the WebAssembly Binary Toolkit).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtFactory from 'wabt';
import { ternaryWat } from '../src/kernels/wasm/ternary-wat.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wabt = await wabtFactory();
const module = wabt.parseWat('ternary.wat', ternaryWat(), { simd: true });
module.validate();
const { buffer } = module.toBinary({});
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(join(root, 'build', 'ternary.wasm'), buffer);
console.log(`build/ternary.wasm: ${buffer.length} bytes`);
