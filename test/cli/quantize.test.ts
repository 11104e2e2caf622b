import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/app.js';
import { captureIo } from '../../src/cli/io.js';
import { packTernary2 } from '../../src/quant/pack.js';
import { quantizeWeights } from '../../src/quant/weight.js';
import { randomNormalArray } from '../../src/util/random.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('bitnet quantize (in-process)', () => {
  it('--json reports the same numbers as the library', async () => {
    const io = captureIo();
    const code = await runCli(['quantize', '--rows', '8', '--cols', '512', '--seed', '3', '--std', '1', '--json'], io);
    expect(code).toBe(0);
    const report = JSON.parse(io.stdout.join('')) as { scaleMin: number; counts: Record<string, number>; bytes: Record<string, number> };
    const data = randomNormalArray(8 * 512, 3, 1);
    const q = quantizeWeights(data, [8, 512]);
    expect(report.scaleMin).toBe(q.scales[0]);
    expect(report.counts.zero).toBe([...q.values].filter((v) => v === 0).length);
    expect(report.bytes.tq2_0).toBe(8 * 2 * 66);
  });

  it('--out writes the packed codes atomically (no temp file left)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-q-'));
    const out = join(dir, 'w.tq2');
    const io = captureIo();
    expect(await runCli(['quantize', '--rows', '4', '--cols', '300', '--out', out], io)).toBe(0);
    const q = quantizeWeights(randomNormalArray(1200, 0, 0.02), [4, 300]);
    expect(new Uint8Array(await readFile(out))).toEqual(packTernary2(q.values, [4, 300]));
    expect(await readdir(dir)).toEqual(['w.tq2']);
  });

  it('reads raw float32 input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-q-'));
    const input = join(dir, 'w.f32');
    await writeFile(input, Buffer.from(new Float32Array([0.5, -1, 0, 2, 0.25, -0.25, 1.5, -0.5]).buffer));
    const io = captureIo();
    expect(await runCli(['quantize', '--input', input, '--rows', '2', '--cols', '4', '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout.join(''))).toMatchObject({ scaleMin: 0.75, counts: { minusOne: 2, zero: 3, plusOne: 3 } });
  });

  it.each([
    [['quantize', '--group-size', '3', '--rows', '2', '--cols', '4'], 'INVALID_CONFIG'],
    [['quantize', '--group-size', 'x'], 'INVALID_ARGUMENT'],
    [['quantize', '--bogus'], 'INVALID_ARGUMENT'],
    [['quantize', '--input', '/nonexistent/w.f32'], 'FILE_NOT_FOUND'],
    [['quantize', '--rows', '0', '--cols', '4'], 'INVALID_SHAPE'],
    [['nope'], 'INVALID_ARGUMENT'],
  ])('exit 2 on user error: %j', async (argv, code) => {
    const io = captureIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain(`[${code}]`);
    expect(io.stdout).toEqual([]);
  });

  it('a wrong-size input file is a shape error with a hint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bitnet-q-'));
    const input = join(dir, 'w.f32');
    await writeFile(input, Buffer.alloc(10));
    const io = captureIo();
    expect(await runCli(['quantize', '--input', input, '--rows', '2', '--cols', '4'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/\[INVALID_SHAPE\].*10 bytes[\s\S]*hint:/);
  });
});

describe('bitnet (child process)', () => {
  it('--help lists the commands and exits 0', async () => {
    const { stdout } = await run(process.execPath, [MAIN, '--help']);
    expect(stdout).toContain('bitnet quantize');
  });

  it('quantize prints a table; a user error exits 2', async () => {
    const { stdout } = await run(process.execPath, [MAIN, 'quantize', '--rows', '16', '--cols', '256']);
    expect(stdout).toMatch(/tq2_0\s+1,056\s+2\.063/);
    const failure = await run(process.execPath, [MAIN, 'quantize', '--group-size', '5']).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('groupSize');
  });
});
