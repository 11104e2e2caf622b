import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceGemm } from '../../src/kernels/reference.js';
import { packTernary2, paddedRowLength } from '../../src/quant/pack.js';
import { SeededRandom } from '../../src/util/random.js';

// The native kernels of ARM64, cross-compiled with Debian's gcc-aarch64-linux-gnu and run under
// qemu-user through the addon's C entry points (test/native/driver.c), against the TypeScript
// oracle. CI installs the tools and sets BITNET_REQUIRE_ARM64=1; elsewhere the suite is skipped
// when they are missing.

const NATIVE = 'src/kernels/native';
const DRIVER = 'test/native/driver.c';
const CROSS_CC = 'aarch64-linux-gnu-gcc';
const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].find(onPath);
const haveTools = onPath(CROSS_CC) && qemu !== undefined;
const required = process.env.BITNET_REQUIRE_ARM64 === '1';

/** Every C file of the addon but its N-API binding, compiled as build-native.mjs does. */
function compileDriver(cc: string, out: string): void {
  const sources = readdirSync(NATIVE)
    .filter((f) => f.endsWith('.c') && f !== 'addon.c')
    .map((f) => join(NATIVE, f));
  const flags = ['-O3', '-std=gnu11', '-pthread', '-ffp-contract=off', '-fno-trapping-math', '-Wall', '-Werror'];
  const r = spawnSync(cc, [...flags, ...(cc === CROSS_CC ? ['-static'] : []), DRIVER, ...sources, '-o', out, '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} failed:\n${r.stderr}`);
}

interface Problem {
  rows: number;
  cols: number;
  batch: number;
  groupCols: number;
  threads: number;
  codes: Uint8Array;
  x: Int8Array;
  want: Int32Array;
}

function makeProblem(rng: SeededRandom, rows: number, logicalCols: number, batch: number, extreme: boolean): Problem {
  const cols = paddedRowLength(logicalCols);
  const q = Int8Array.from({ length: rows * logicalCols }, () => rng.int(3) - 1);
  const codes = packTernary2(q, [rows, logicalCols]);
  const x = new Int8Array(batch * cols);
  for (let b = 0; b < batch; b++) for (let k = 0; k < logicalCols; k++) x[b * cols + k] = extreme ? (rng.int(2) === 0 ? -128 : 127) : rng.int(256) - 128;
  const groupChoices = [cols, 32, 64, 128, 256].filter((g) => cols % g === 0);
  const groupCols = groupChoices[rng.int(groupChoices.length)] as number;
  const want = new Int32Array(batch * rows * (cols / groupCols));
  referenceGemm(codes, { rows, paddedCols: cols, x, batch, groupCols, out: want });
  return { rows, cols, batch, groupCols, threads: 1 + rng.int(3), codes, x, want };
}

/** Fuzzed shapes (rows not multiples of 16, batch 1..9 so every tile of 4, 2 and 1 runs, every group size) and the extremes. */
function problems(): Problem[] {
  const rng = new SeededRandom(2026);
  const list: Problem[] = [];
  for (let trial = 0; trial < 36; trial++)
    list.push(makeProblem(rng, 1 + rng.int(trial % 2 === 0 ? 70 : 260), 1 + rng.int(1100), 1 + rng.int(9), trial % 9 === 0));
  // row 0 all +1, row 1 all -1, against all -128 and all 127: the largest sums a row of 4096 reaches
  const q = new Int8Array(2 * 4096).fill(1, 0, 4096).fill(-1, 4096);
  const x = new Int8Array(2 * 4096).fill(-128, 0, 4096).fill(127, 4096);
  const want = Int32Array.of(-128 * 4096, 128 * 4096, 127 * 4096, -127 * 4096);
  for (const batch of [1, 2]) {
    list.push({
      rows: 2,
      cols: 4096,
      batch,
      groupCols: 4096,
      threads: 1,
      codes: packTernary2(q, [2, 4096]),
      x: x.subarray(0, batch * 4096),
      want: want.subarray(0, 2 * batch),
    });
  }
  return list;
}

function encode(list: Problem[]): Buffer {
  const parts: Uint8Array[] = [Uint8Array.from(new Uint8Array(Int32Array.of(list.length).buffer))];
  for (const p of list) {
    parts.push(
      new Uint8Array(Int32Array.of(p.rows, p.cols, p.batch, p.groupCols, p.threads).buffer),
      p.codes,
      new Uint8Array(p.x.buffer, p.x.byteOffset, p.x.length),
    );
  }
  return Buffer.concat(parts);
}

const dir = mkdtempSync(join(tmpdir(), 'bitnet-cross-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const list = problems();
const problemFile = join(dir, 'problems.bin');
writeFileSync(problemFile, encode(list));

let runs = 0;

/** Runs a driver binary (BITNET_NATIVE_ISA as given: undefined unsets it); returns the kernel path it chose, after checking every output against the oracle. */
function runAndCheck(command: string[], isa: string | undefined): string {
  const resultFile = join(dir, `results-${runs++}.bin`);
  const [exe, ...args] = command as [string, ...string[]];
  const env = { ...process.env };
  delete env.BITNET_NATIVE_ISA;
  if (isa !== undefined) env.BITNET_NATIVE_ISA = isa;
  const r = spawnSync(exe, [...args, problemFile, resultFile], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  const bytes = readFileSync(resultFile);
  const got = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  let offset = 0;
  for (const p of list) {
    const slice = got.subarray(offset, offset + p.want.length);
    expect(slice, `rows ${p.rows} cols ${p.cols} batch ${p.batch} groups of ${p.groupCols}`).toEqual(p.want);
    offset += p.want.length;
  }
  expect(offset).toBe(got.length);
  return r.stdout.trim();
}

describe('the C test driver on this host', () => {
  it.skipIf(!onPath('cc'))('runs the same kernels as the addon and equals the oracle', () => {
    const exe = join(dir, 'driver-host');
    compileDriver('cc', exe);
    const path = runAndCheck([exe], process.env.BITNET_NATIVE_ISA);
    if (process.env.BITNET_NATIVE_ISA_EXPECT !== undefined) expect(path).toBe(process.env.BITNET_NATIVE_ISA_EXPECT);
    expect(runAndCheck([exe], 'scalar')).toBe('scalar');
  });
});

describe.skipIf(!haveTools && !required)('ARM64 kernels under qemu equal the TypeScript oracle', () => {
  const exe = join(dir, 'driver-arm64');
  it('the cross compiler and qemu-user are here', () => {
    expect(haveTools, `${CROSS_CC} and qemu-aarch64(-static) are needed (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)`).toBe(
      true,
    );
    compileDriver(CROSS_CC, exe);
  });

  // qemu's CPU models: max has dotprod and i8mm, Cortex-A76 dotprod only, Cortex-A53 neither
  it.each([
    ['max', '', 'i8mm'],
    ['max', 'dotprod', 'dotprod'],
    ['max', 'neon', 'neon'],
    ['max', 'scalar', 'scalar'],
    ['cortex-a76', '', 'dotprod'],
    ['cortex-a53', '', 'neon'],
  ])('cpu %s, BITNET_NATIVE_ISA=%s: runs %s, exactly', (cpu, force, path) => {
    expect(runAndCheck([qemu as string, '-cpu', cpu, exe], force === '' ? undefined : force)).toBe(path);
  });
});
