// `npm run bench -- cpu`: the xorshift32 workload (workloads/xorshift.ts) on jinx (64-bit raw
// machine), v86 (32-bit multiboot kernel, JIT on) and QEMU TCG (same kernel, if installed).

import { runImage, type BenchMachine } from '../../web/bench.ts';
import { performance } from 'node:perf_hooks';

import { qemuMips, v86Mips, type PeerOptions, type PeerResult } from './cpu-peers.ts';
import { BUF, BUF_SIZE, INSNS_PER_ITER, buildJinx64, reference } from './workloads/xorshift.ts';

/** Iterations of the 15-instruction loop for every emulator (300 M instructions). */
export const CPU_ITERATIONS = 20_000_000;
/** Un-timed jinx run first, so the measured run uses V8's optimised tier of the core. */
export const JINX_WARMUP_ITERATIONS = 500_000;
/** Every emulator runs the workload this many times; the median MIPS is reported (the machine is
 *  shared and noisy; QEMU's loop only takes ~0.1 s). jinx reuses one machine, the peers reboot. */
export const RUNS = 3;

export interface CpuSuiteResult {
  suite: 'cpu';
  jinx_mips: number;
  v86_mips: number;
  ratio: number;
  qemu_mips: number | null;
}

/** The part of emulator/raw-machine.ts used here (see emulator/API.md). */
export type RawMachineLike = BenchMachine;
export type CreateRawMachine = (opts: { memMiB: number; bits: 64 }) => Promise<RawMachineLike> | RawMachineLike;

export interface JinxResult {
  mips: number;
  ms: number;
  instructions: number;
}

const log = (line: string): void => {
  process.stderr.write(line + '\n');
};

function runJinxOnce(m: RawMachineLike, iterations: number): JinxResult {
  const w = buildJinx64(iterations);
  const layout = { org: w.org, entry: w.entry, buf: BUF, bufSize: BUF_SIZE, insnsPerIter: INSNS_PER_ITER };
  try {
    const r = runImage(m, layout, w.bytes, iterations, reference(iterations));
    return { mips: r.mips, ms: r.ms, instructions: r.instructions };
  } catch (e) {
    throw new Error(`jinx: ${(e as Error).message}`);
  }
}

/** Median of `runs` timed runs on one raw machine, after an un-timed warm-up run. */
export async function jinxMips(create: CreateRawMachine, iterations: number, runs = 1): Promise<{ median: JinxResult; all: JinxResult[] }> {
  const m = await create({ memMiB: 16, bits: 64 });
  runJinxOnce(m, JINX_WARMUP_ITERATIONS);
  const all: JinxResult[] = [];
  for (let i = 0; i < runs; i++) all.push(runJinxOnce(m, iterations));
  return { median: median(all), all };
}

function median<T extends { mips: number }>(results: T[]): T {
  const sorted = [...results].sort((a, b) => a.mips - b.mips);
  return sorted[sorted.length >> 1];
}

async function peerMedian(
  fn: typeof v86Mips, iterations: number, opts: PeerOptions,
): Promise<{ median: PeerResult; all: PeerResult[] } | null> {
  const all: PeerResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await fn(iterations, opts);
    if (r === null) return null;
    all.push(r);
  }
  return { median: median(all), all };
}

const list = (rs: { mips: number }[]): string => rs.map((r) => fmt(r.mips)).join(', ');

async function loadRawMachine(): Promise<CreateRawMachine> {
  try {
    const mod = await import('../../emulator/raw-machine.ts');
    return mod.createRawMachine;
  } catch (e) {
    throw new Error(`jinx: cannot load emulator/raw-machine.ts: ${(e as Error).message.split('\n')[0]}`);
  }
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);
const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/** `create` defaults to emulator/raw-machine.ts's createRawMachine (injectable for tests). */
export async function runCpuSuite(create?: CreateRawMachine): Promise<{ result: CpuSuiteResult; summary: string[] }> {
  const iterations = CPU_ITERATIONS;
  const insns = iterations * INSNS_PER_ITER;
  log(`cpu: xorshift32 loop, ${iterations} iterations x ${INSNS_PER_ITER} instructions = ${insns} instructions`);
  const expected = reference(iterations);

  log(`cpu: jinx (64-bit raw machine, median of ${RUNS}) ...`);
  const jinxAll = await jinxMips(create ?? (await loadRawMachine()), iterations, RUNS);
  const jinx = jinxAll.median;
  log(`cpu: jinx ${fmt(jinx.mips)} MIPS (runs: ${list(jinxAll.all)})`);

  log(`cpu: v86 (32-bit multiboot, SeaBIOS, JIT, median of ${RUNS}) ...`);
  const v86All = await peerMedian(v86Mips, iterations, { expected, log });
  if (v86All === null) throw new Error('cpu: v86 is unavailable, cannot compute the jinx/v86 ratio');
  const v86 = v86All.median;
  log(`cpu: v86 ${fmt(v86.mips)} MIPS (runs: ${list(v86All.all)})`);

  log(`cpu: qemu TCG (32-bit multiboot, median of ${RUNS}) ...`);
  const qemuAll = await peerMedian(qemuMips, iterations, { expected, log });
  const qemu = qemuAll?.median ?? null;
  if (qemuAll) log(`cpu: qemu ${fmt(qemuAll.median.mips)} MIPS (runs: ${list(qemuAll.all)})`);

  const ratio = jinx.mips / v86.mips;
  const summary = [
    `cpu benchmark: xorshift32 loop, ${iterations} iterations x ${INSNS_PER_ITER} instructions`,
    `  jinx  ${fmt(jinx.mips).padStart(8)} MIPS  ${fmt(jinx.ms).padStart(8)} ms  (64-bit raw machine, ${jinx.instructions} instructions retired, median of ${RUNS})`,
    `  v86   ${fmt(v86.mips).padStart(8)} MIPS  ${fmt(v86.ms).padStart(8)} ms  (32-bit multiboot, boot ${fmt(v86.bootMs, 0)} ms, v86 counter ${v86.counted}, median of ${RUNS})`,
    qemu
      ? `  qemu  ${fmt(qemu.mips).padStart(8)} MIPS  ${fmt(qemu.ms).padStart(8)} ms  (TCG, 32-bit multiboot, median of ${RUNS})`
      : '  qemu       n/a        (qemu-system-x86_64 not installed)',
    `  ratio jinx/v86 = ${fmt(ratio, 3)}`,
  ];
  return {
    result: {
      suite: 'cpu',
      jinx_mips: round(jinx.mips, 1),
      v86_mips: round(v86.mips, 1),
      ratio: round(ratio, 4),
      qemu_mips: qemu ? round(qemu.mips, 1) : null,
    },
    summary,
  };
}
