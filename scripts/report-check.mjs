// Opens report.html files in a real headless Chromium (Debian's `chromium`) over the DevTools
// protocol, fails on any console error or uncaught exception, and checks that every chart has
// data, a line and labeled axes. With --screenshot FILE it keeps a PNG of the first report.
// Usage: node scripts/report-check.mjs [--screenshot docs/report.png] report.html...
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import CDP from 'chrome-remote-interface';

const args = process.argv.slice(2);
const shotAt = args.indexOf('--screenshot');
const screenshot = shotAt >= 0 ? args.splice(shotAt, 2)[1] : undefined;
if (args.length === 0) {
  console.error('usage: node scripts/report-check.mjs [--screenshot out.png] report.html...');
  process.exit(2);
}
for (const report of args) {
  if (!existsSync(report)) {
    console.error(`no report at ${report}`);
    process.exit(2);
  }
}
const browser = process.env.CHROMIUM ?? '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'bitnet-chromium-'));
const chromium = spawn(
  browser,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--allow-file-access-from-files',
    `--user-data-dir=${profile}`,
    '--remote-debugging-port=0',
    'about:blank',
  ],
  { stdio: 'ignore' },
);

async function devtoolsPort() {
  const file = join(profile, 'DevToolsActivePort');
  for (let i = 0; i < 300; i++) {
    if (existsSync(file)) {
      const port = Number(readFileSync(file, 'utf8').split('\n')[0]);
      if (port > 0) return port;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${browser} did not open its DevTools port in 30 s`);
}

const failures = [];
try {
  const port = await devtoolsPort();
  for (const [i, report] of args.entries()) {
    const target = await CDP.New({ port });
    const client = await CDP({ port, target });
    const errors = [];
    client.Runtime.consoleAPICalled(({ type, args: values }) => {
      if (type === 'error' || type === 'assert') errors.push(`console.${type}: ${values.map((v) => v.value ?? v.description).join(' ')}`);
    });
    client.Runtime.exceptionThrown(({ exceptionDetails }) => errors.push(`exception: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`));
    client.Log.entryAdded(({ entry }) => {
      if (entry.level === 'error') errors.push(`log: ${entry.text}`);
    });
    await Promise.all([client.Page.enable(), client.Runtime.enable(), client.Log.enable()]);
    await client.Emulation.setDeviceMetricsOverride({ width: 1400, height: 900, deviceScaleFactor: 1, mobile: false });
    const loaded = client.Page.loadEventFired();
    await client.Page.navigate({ url: pathToFileURL(resolve(report)).href });
    await loaded;
    const { result } = await client.Runtime.evaluate({
      returnByValue: true,
      expression: `[...document.querySelectorAll('svg[data-chart]')].map((s) => ({
        id: s.dataset.chart,
        points: Number(s.dataset.points),
        lines: s.querySelectorAll('path').length,
        yLabel: [...s.querySelectorAll('text[transform]')].map((t) => t.textContent).join(' | '),
        xLabel: [...s.querySelectorAll('text')].some((t) => t.textContent === 'optimizer step'),
        height: s.getBoundingClientRect().height,
      }))`,
    });
    const charts = result.value ?? [];
    const problems = [...errors];
    if (charts.length === 0) problems.push('no charts');
    for (const c of charts) {
      if (!(c.points > 0) || c.lines === 0) problems.push(`chart ${c.id} has no data`);
      if (c.yLabel === '' || !c.xLabel) problems.push(`chart ${c.id} lacks an axis label`);
      if (!(c.height > 100)) problems.push(`chart ${c.id} is not drawn (height ${c.height})`);
    }
    console.log(
      `${report}: ${charts.length} charts (${charts.map((c) => `${c.id} ${c.points} points`).join(', ')})${problems.length ? `\n  ${problems.join('\n  ')}` : ', no console errors'}`,
    );
    if (problems.length > 0) failures.push(report);
    if (i === 0 && screenshot !== undefined) {
      const { result: size } = await client.Runtime.evaluate({ expression: 'document.documentElement.scrollHeight', returnByValue: true });
      await client.Emulation.setDeviceMetricsOverride({ width: 1400, height: Math.min(4000, size.value), deviceScaleFactor: 1, mobile: false });
      const { data } = await client.Page.captureScreenshot({ format: 'png', captureBeyondViewport: true });
      writeFileSync(screenshot, Buffer.from(data, 'base64'));
      console.log(`screenshot: ${screenshot}`);
    }
    await client.close();
    await CDP.Close({ port, id: target.id });
  }
} finally {
  chromium.kill();
  await new Promise((r) => setTimeout(r, 200));
  rmSync(profile, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`report check failed: ${failures.join(', ')}`);
  process.exit(1);
}
