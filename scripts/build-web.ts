// `npm run build:web`: builds the browser page into web/dist/.
//
//   web/dist/index.html      copied from web/index.html
//   web/dist/main.js         web/main.ts (ES module)
//   web/dist/cpu-worker.js   web/cpu-worker.ts + the emulator (classic worker script, core wasm inlined)
//   web/dist/workload.json   the embedded benchmark workload (for reference and tests)
//
// The browser cannot run GNU as, so the 64-bit xorshift workload (scripts/bench/workloads/xorshift.ts)
// is assembled here and embedded into both bundles (esbuild `define` __JINX_WORKLOAD__) together with
// the expected results from reference(). Needs the core built first (node scripts/ensure-core.mjs).

import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { WorkloadImage, WorkloadManifest } from '../web/bench.ts';
import { JINX_WARMUP_ITERATIONS } from './bench/cpu.ts';
import { BUF, BUF_SIZE, INSNS_PER_ITER, buildJinx64, reference } from './bench/workloads/xorshift.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIST = join(ROOT, 'web/dist');

/** Iterations per timed browser run (30 M instructions). The Node bench (npm run bench -- cpu) uses
 *  20 M iterations; a page click should finish in seconds. Override with --iterations. */
export const WEB_ITERATIONS = 2_000_000;
/** Timed runs per click; the median is reported (as in the Node bench). */
export const WEB_RUNS = 3;

const OUTPUTS = ['index.html', 'main.js', 'cpu-worker.js', 'workload.json'];
/** Written last: its mtime is the build time. */
const STAMP = 'workload.json';

/** Sources of the bundles: directories are walked (minus SKIP); emulator/core is covered by its build. */
const INPUTS = [
  'web', 'emulator', 'scripts/build-web.ts', 'scripts/bench/cpu.ts', 'scripts/bench/workloads/xorshift.ts', 'scripts/lib/gas.ts',
];
const SKIP = new Set(['dist', 'test', 'testing', 'core', 'node_modules']);

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of readdirSync(path)) {
    if (SKIP.has(e)) continue;
    newest = Math.max(newest, newestMtime(join(path, e)));
  }
  return newest;
}

/** True when an output is missing or older than a source (web/, the emulator wrappers, the core build,
 *  the workload). */
export function webIsStale(): boolean {
  if (OUTPUTS.some((f) => !existsSync(join(WEB_DIST, f)))) return true;
  const built = statSync(join(WEB_DIST, STAMP)).mtimeMs;
  return INPUTS.some((p) => newestMtime(join(ROOT, p)) > built);
}

export interface BuildWebOptions {
  iterations?: number;
  runs?: number;
  log?: (line: string) => void;
}

function image(iterations: number): WorkloadImage {
  const hex = Buffer.from(buildJinx64(iterations).bytes).toString('hex');
  return { iterations, hex, expected: reference(iterations) };
}

export function workloadManifest(iterations = WEB_ITERATIONS, runs = WEB_RUNS): WorkloadManifest {
  const w = buildJinx64(iterations);
  return {
    name: 'xorshift32 load/store loop',
    bits: 64,
    memMiB: 16,
    org: w.org,
    entry: w.entry,
    buf: BUF,
    bufSize: BUF_SIZE,
    insnsPerIter: INSNS_PER_ITER,
    runs,
    warmup: image(JINX_WARMUP_ITERATIONS),
    measured: image(iterations),
  };
}

export async function buildWeb(opts: BuildWebOptions = {}): Promise<WorkloadManifest> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const coreTs = join(ROOT, 'emulator/build/core-wasm.ts');
  if (!existsSync(coreTs)) throw new Error('web: emulator/build/core-wasm.ts is missing; run node scripts/ensure-core.mjs first');
  const manifest = workloadManifest(opts.iterations ?? WEB_ITERATIONS, opts.runs ?? WEB_RUNS);

  rmSync(WEB_DIST, { recursive: true, force: true });
  mkdirSync(WEB_DIST, { recursive: true });
  const common = {
    bundle: true,
    platform: 'browser' as const,
    target: 'es2022',
    define: { __JINX_WORKLOAD__: JSON.stringify(manifest) },
    sourcemap: 'linked' as const,
    sourcesContent: false,
    logLevel: 'warning' as const,
    absWorkingDir: ROOT,
  };
  await build({ ...common, entryPoints: ['web/main.ts'], outfile: join(WEB_DIST, 'main.js'), format: 'esm' });
  await build({ ...common, entryPoints: ['web/cpu-worker.ts'], outfile: join(WEB_DIST, 'cpu-worker.js'), format: 'iife' });
  copyFileSync(join(ROOT, 'web/index.html'), join(WEB_DIST, 'index.html'));
  writeFileSync(join(WEB_DIST, STAMP), JSON.stringify(manifest, null, 2) + '\n');

  const size = (f: string): string => `${(statSync(join(WEB_DIST, f)).size / 1024).toFixed(0)} KiB`;
  log(`web: built ${relative(ROOT, WEB_DIST)}/ (main.js ${size('main.js')}, cpu-worker.js ${size('cpu-worker.js')}; ` +
    `workload ${manifest.measured.iterations} iterations x ${manifest.runs} runs)`);
  return manifest;
}

const USAGE = `usage: npm run build:web -- [--iterations N] [--runs N]

Builds the page into web/dist/ (index.html, main.js, cpu-worker.js, workload.json).

options:
  --iterations N   xorshift iterations per timed run in the browser (default ${WEB_ITERATIONS})
  --runs N         timed runs per click, the median is shown (default ${WEB_RUNS})
  --help           show this help`;

function fail(message: string, code: number): never {
  process.stderr.write(`build-web: ${message}\n`);
  process.exit(code);
}

function parseCount(flag: string, value: string | undefined, max: number): number {
  if (value === undefined) fail(`${flag} needs a value; try --help`, 2);
  const v = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(v) || v < 1 || v > max) {
    fail(`${flag} must be an integer in 1..${max}, got '${value}'; try --help`, 2);
  }
  return v;
}

async function main(argv: string[]): Promise<void> {
  const opts: BuildWebOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { process.stdout.write(USAGE + '\n'); process.exit(0); }
    else if (a === '--iterations') opts.iterations = parseCount(a, argv[++i], 0xffffffff);
    else if (a === '--runs') opts.runs = parseCount(a, argv[++i], 99);
    else fail(`unknown argument '${a}'; try --help`, 2);
  }
  await buildWeb(opts);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e), 1));
}
