// Messages between the page (main.ts) and the benchmark worker (cpu-worker.ts).
import type { BenchProgress, BenchResult } from './bench.ts';

export type ToWorker = { type: 'run' };

export type FromWorker =
  | { type: 'progress'; progress: BenchProgress }
  | { type: 'result'; result: BenchResult }
  | { type: 'error'; message: string };
