// npm run fuzz: the long run of the fuzz suite (npm test runs a short one with the same seeds).
//   node dist/fuzz/main.js [--cases N] [--seed S] [--targets gguf,recipe] [--timeout-ms T]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAmplification } from './amplify.js';
import { runFuzz } from './run.js';
import { TARGETS } from './targets.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    targets: { type: 'string', default: TARGETS.map((t) => t.name).join(',') },
    'timeout-ms': { type: 'string', default: '30000' },
    out: { type: 'string', default: 'bench/results/fuzz.json' },
  },
});
const workDir = mkdtempSync(join(tmpdir(), 'bitnet-fuzz-'));
const started = Date.now();
const { summaries, findings } = await runFuzz(
  { targets: values.targets.split(','), cases: Number(values.cases), seed: Number(values.seed), caseTimeoutMs: Number(values['timeout-ms']), workDir },
  (s) =>
    console.log(
      `${s.target.padEnd(12)} ${String(s.cases).padStart(6)} cases  ok ${s.ok}  typed ${s.typed}  crashes ${s.crashes}  hangs ${s.hangs}  slowest ${s.slowestMs} ms  peak +${s.peakGrowthMb} MB (case ${s.peakCase})  tensors +${s.tensorGrowth}`,
    ),
);
const amplification = await runAmplification(workDir, workDir, 300_000);
console.log('\nhostile files that declare much (peak memory beyond a valid file of the same kind):');
for (const r of amplification) {
  console.log(`  ${r.name.padEnd(62)} ${r.outcome.padEnd(22)} ${r.ms} ms  +${r.growthMb.toFixed(0)} MB  ${r.ratio.toFixed(2)}x its size`);
}
rmSync(workDir, { recursive: true, force: true });
for (const f of findings) console.log(`\n${f.kind} in ${f.target} case ${f.case} (seed ${values.seed}):\n${f.message}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  values.out,
  `${JSON.stringify({ seed: Number(values.seed), seconds: Math.round((Date.now() - started) / 1000), cpu: cpus()[0]?.model, summaries, findings, amplification }, null, 2)}\n`,
);
const fuzzRows = summaries.map(
  (t) =>
    `| ${t.target} | ${t.cases.toLocaleString('en-US')} | ${t.ok.toLocaleString('en-US')} | ${t.typed.toLocaleString('en-US')} | ${t.crashes} | ${t.hangs} | ${t.slowestMs} ms | ${t.tensorGrowth} | ${(t.largestInput / 2 ** 20).toFixed(1)} MB | +${t.peakGrowthMb} MB |`,
);
const total = summaries.reduce((n, t) => n + t.cases, 0);
const amplifyRows = amplification.map(
  (r) => `| ${r.name} | ${r.before ?? ''} | ${r.outcome} | ${r.ms} ms | +${r.growthMb.toFixed(0)} MB | ${r.ratio.toFixed(2)}x |`,
);
writeFileSync(
  values.out.replace(/\.json$/, '.md'),
  [
    `fuzz: seed ${values.seed}, ${total.toLocaleString('en-US')} cases, ${cpus()[0]?.model ?? ''}`,
    '',
    '| target | cases | loaded | typed errors | crashes | hangs | slowest | leaked tensors | largest input | worker peak memory |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...fuzzRows,
    '',
    '| hostile file | before | now | time | peak memory over a valid file | x its size |',
    '|---|---|---|---:|---:|---:|',
    ...amplifyRows,
    '',
  ].join('\n'),
);
process.exitCode = findings.length === 0 ? 0 : 1;
