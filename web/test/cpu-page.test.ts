// End-to-end test of the CPU benchmark page: `npx tsx --test web/test/cpu-page.test.ts`.
//
// Starts scripts/serve.ts on a free port (it builds the core and web/dist if needed), opens the page
// in headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) through playwright-core, clicks
// "Run CPU benchmark", waits for the MIPS result and checks its checksum against reference().
// Then runs the same workload (same iterations and runs) with the Node bench (scripts/bench/cpu.ts)
// and prints "browser X MIPS, node Y MIPS, ratio Z". Speeds are reported, never asserted.
// Screenshot: test-results/cpu-page.png.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser } from 'playwright-core';

import { createRawMachine } from '../../emulator/raw-machine.ts';
import { jinxMips, type CreateRawMachine } from '../../scripts/bench/cpu.ts';
import { reference } from '../../scripts/bench/workloads/xorshift.ts';
import type { WorkloadManifest } from '../bench.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, 'test-results/cpu-page.png');
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];
/** Generous: the first start may build the core and the bundle. */
const SERVER_START_MS = 120_000;
const BENCH_MS = 120_000;

const createForBench: CreateRawMachine = createRawMachine;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Spawns `node --import tsx scripts/serve.ts` on a free port; resolves with its URL. */
function startServer(): { child: ChildProcess; url: Promise<string>; log: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/serve.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const url = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${SERVER_START_MS} ms:\n${err}`)), SERVER_START_MS);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /^jinx: serving (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${err}`));
    });
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  url.catch(() => {}); // observed by the test; avoid an unhandled rejection if it fails later
  return { child, url, log: () => err };
}

async function stopServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

test('CPU benchmark page: runs in Chromium with the correct checksum', { timeout: SERVER_START_MS + 2 * BENCH_MS }, async () => {
  assert.ok(existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM`);

  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    const t0 = performance.now();
    const started = startServer();
    server = started.child;
    const url = await started.url;

    // The page needs cross-origin isolation; the workload manifest says what the page will run.
    const index = await fetch(url);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    const manifestRes = await fetch(new URL('workload.json', url));
    assert.equal(manifestRes.status, 200);
    const manifest = (await manifestRes.json()) as WorkloadManifest;
    const iterations = manifest.measured.iterations;

    const t1 = performance.now();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });

    await page.goto(url);
    await page.getByRole('heading', { level: 1, name: 'jinx' }).waitFor();
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'page is not cross-origin isolated');

    const status = page.getByRole('status', { name: 'CPU benchmark result' });
    const button = page.getByRole('button', { name: 'Run CPU benchmark' });
    await button.click();
    await status.filter({ hasText: /\bMIPS\b|failed/ }).waitFor({ timeout: BENCH_MS });
    const text = await status.innerText();
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    assert.doesNotMatch(text, /failed/, `the browser run failed: ${text}`);
    const mips = /([0-9]+(?:\.[0-9]+)?) MIPS/.exec(text);
    const sum = /checksum correct: eax=([0-9a-f]{8}) edi=([0-9a-f]{8})/.exec(text);
    assert.ok(mips && sum, `unexpected result text: ${text}`);
    const expected = reference(iterations);
    assert.equal(sum[1], hex8(expected.state), 'eax (xorshift state) differs from reference()');
    assert.equal(sum[2], hex8(expected.acc), 'edi (load accumulator) differs from reference()');
    const browserMips = Number(mips[1]);
    assert.ok(browserMips > 0, `MIPS must be > 0, got ${browserMips}`);
    assert.equal(await button.isEnabled(), true, 'the button stays disabled after the run');
    assert.deepEqual(problems, []);

    // Close the browser first so the Node run does not compete with it for the 2 cores.
    await browser.close();
    browser = undefined;

    const t2 = performance.now();
    const node = await jinxMips(createForBench, iterations, manifest.runs);
    const nodeMips = node.median.mips;
    const line = `browser ${browserMips.toFixed(1)} MIPS, node ${nodeMips.toFixed(1)} MIPS, ratio ${(browserMips / nodeMips).toFixed(3)}` +
      ` (${iterations} iterations x ${manifest.insnsPerIter} instructions, median of ${manifest.runs}; ` +
      `server ${secs(t1 - t0)}, browser ${secs(t2 - t1)}, node ${secs(performance.now() - t2)})`;
    console.log(line);
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server);
  }
});
