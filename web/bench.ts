// The CPU benchmark measurement for the browser (run by cpu-worker.ts). It mirrors the jinx part
// of scripts/bench/cpu.ts (runJinxOnce / jinxMips): an un-timed warm-up run, then `runs` timed
// runs of the xorshift workload on one 64-bit raw machine, median MIPS = instructions / ms / 1000.
// Every run's result (eax, edi) is checked against the reference, so a wrong emulator cannot
// report a speed.
//
// The browser cannot run GNU as, so scripts/build-web.ts assembles the workload at build time and
// embeds a WorkloadManifest (the images, already patched with their iteration counts, and the
// expected results from reference() in scripts/bench/workloads/xorshift.ts).
// No DOM and no Node APIs here: this runs in a Worker and can be imported by Node code.

export interface Expected {
  /** eax: xorshift state after the loop */
  state: number;
  /** edi: accumulator of the loads */
  acc: number;
}

export interface WorkloadImage {
  iterations: number;
  /** raw image as hex, loaded at manifest.org (parameter block already patched with `iterations`) */
  hex: string;
  expected: Expected;
}

export interface WorkloadManifest {
  name: string;
  bits: 64;
  memMiB: number;
  org: number;
  entry: number;
  /** the 64 KiB buffer the loop reads and writes (zeroed before every run) */
  buf: number;
  bufSize: number;
  insnsPerIter: number;
  /** timed runs; the median is reported */
  runs: number;
  warmup: WorkloadImage;
  measured: WorkloadImage;
}

export interface RunMeasurement {
  mips: number;
  ms: number;
  instructions: number;
  state: number;
  acc: number;
}

export interface BenchResult {
  /** the median run */
  median: RunMeasurement;
  all: RunMeasurement[];
  iterations: number;
  expected: Expected;
}

/** The part of emulator/raw-machine.ts's RawMachine used here. */
export interface BenchMachine {
  load(bytes: Uint8Array, org: number): void;
  setRip(rip: number): void;
  run(maxInsns: number): {
    exit: string;
    instructions: number;
    exception: null | { vector: number; error_code: number };
    reason?: string;
  };
  regs(): Record<string, bigint>;
  readonly mem: Uint8Array;
}

export type CreateBenchMachine = (opts: { memMiB: number; bits: 64 }) => Promise<BenchMachine>;

export type BenchProgress =
  | { phase: 'warmup'; iterations: number }
  | { phase: 'run'; run: number; runs: number; iterations: number }
  | { phase: 'done'; run: number; mips: number };

export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

export function imageBytes(image: WorkloadImage): Uint8Array {
  const h = image.hex;
  if (h.length % 2 !== 0 || !/^[0-9a-f]*$/.test(h)) throw new Error('workload image is not a hex string');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** One run of `image` on `m`; throws unless it halts with the expected (eax, edi). */
export function runOnce(m: BenchMachine, w: WorkloadManifest, image: WorkloadImage): RunMeasurement {
  return runImage(m, { org: w.org, entry: w.entry, buf: w.buf, bufSize: w.bufSize, insnsPerIter: w.insnsPerIter },
    imageBytes(image), image.iterations, image.expected);
}

export interface ImageLayout { org: number; entry: number; buf: number; bufSize: number; insnsPerIter: number }

/** Runs a workload image once and checks exit, result registers and the retired count. */
export function runImage(m: BenchMachine, w: ImageLayout, bytes: Uint8Array, iterations: number, expected: Expected): RunMeasurement {
  m.mem.fill(0, w.buf, w.buf + w.bufSize);
  m.load(bytes, w.org);
  m.setRip(w.entry);
  const loopInsns = iterations * w.insnsPerIter;
  const t = performance.now();
  const r = m.run(loopInsns + 1000);
  const ms = performance.now() - t;
  const regs = m.regs();
  if (r.exit !== 'hlt') {
    throw new Error(`workload stopped with exit=${r.exit}` +
      (r.exception ? ` vector=${r.exception.vector} error_code=${r.exception.error_code}` : '') +
      (r.reason ? ` (${r.reason})` : '') + ` at rip=0x${regs.rip!.toString(16)} after ${r.instructions} instructions`);
  }
  const state = Number(regs.rax! & 0xffffffffn);
  const acc = Number(regs.rdi! & 0xffffffffn);
  if (state !== expected.state || acc !== expected.acc) {
    throw new Error(`wrong result eax=${hex8(state)} edi=${hex8(acc)}, ` +
      `expected eax=${hex8(expected.state)} edi=${hex8(expected.acc)}`);
  }
  // setup (7 instructions incl. the alignment nop) + loop + possibly the HLT itself
  const extra = r.instructions - loopInsns;
  if (extra < 0 || extra > 16) {
    throw new Error(`reported ${r.instructions} instructions retired, expected ${loopInsns} + a few`);
  }
  return { mips: r.instructions / ms / 1000, ms, instructions: r.instructions, state, acc };
}

/** Warm-up run, then `w.runs` timed runs on one machine; reports the median. */
export async function measure(
  create: CreateBenchMachine, w: WorkloadManifest, progress: (p: BenchProgress) => void = () => {},
): Promise<BenchResult> {
  const m = await create({ memMiB: w.memMiB, bits: w.bits });
  progress({ phase: 'warmup', iterations: w.warmup.iterations });
  runOnce(m, w, w.warmup);
  const all: RunMeasurement[] = [];
  for (let i = 0; i < w.runs; i++) {
    progress({ phase: 'run', run: i + 1, runs: w.runs, iterations: w.measured.iterations });
    const r = runOnce(m, w, w.measured);
    all.push(r);
    progress({ phase: 'done', run: i + 1, mips: r.mips });
  }
  const sorted = [...all].sort((a, b) => a.mips - b.mips);
  return { median: sorted[sorted.length >> 1], all, iterations: w.measured.iterations, expected: w.measured.expected };
}
