// The page: starts the CPU benchmark in a Web Worker (cpu-worker.ts) and shows its progress
// and result (MIPS) in the status region. Bundled by scripts/build-web.ts into web/dist/main.js.
import type { BenchResult } from './bench.ts';
import { hex8 } from './bench.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { WORKLOAD } from './workload.ts';

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

const button = byId<HTMLButtonElement>('run');
const status = byId<HTMLElement>('result');
const n = (v: number): string => v.toLocaleString('en-US');
const mips = (v: number): string => v.toFixed(1);

byId('workload').textContent =
  `${WORKLOAD.name}: ${n(WORKLOAD.measured.iterations)} iterations × ${WORKLOAD.insnsPerIter} instructions ` +
  `on a ${WORKLOAD.bits}-bit raw machine, median of ${WORKLOAD.runs} runs after a ` +
  `${n(WORKLOAD.warmup.iterations)}-iteration warm-up.`;
byId('isolation').textContent = `Cross-origin isolated: ${self.crossOriginIsolated ? 'yes' : 'no'}.`;

function show(state: 'idle' | 'running' | 'done' | 'error', ...lines: Array<string | Node>): void {
  status.dataset.state = state;
  status.setAttribute('aria-busy', state === 'running' ? 'true' : 'false');
  const nodes: Array<string | Node> = [];
  lines.forEach((line, i) => { if (i > 0) nodes.push(document.createElement('br')); nodes.push(line); });
  status.replaceChildren(...nodes);
}

function showResult(r: BenchResult): void {
  const head = document.createElement('strong');
  head.textContent = `${mips(r.median.mips)} MIPS`;
  show('done',
    head,
    `median of ${r.all.length} runs (${r.all.map((x) => mips(x.mips)).join(', ')} MIPS), ` +
      `${n(r.median.instructions)} instructions in ${n(Math.round(r.median.ms))} ms`,
    `checksum correct: eax=${hex8(r.median.state)} edi=${hex8(r.median.acc)}`);
}

let worker: Worker | null = null;

function finish(): void {
  button.disabled = false;
}

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./cpu-worker.js', import.meta.url));
  w.onmessage = (e: MessageEvent<FromWorker>) => {
    const msg = e.data;
    if (msg.type === 'progress') {
      const p = msg.progress;
      if (p.phase === 'warmup') show('running', `Warming up (${n(p.iterations)} iterations)…`);
      else if (p.phase === 'run') show('running', `Run ${p.run} of ${p.runs} (${n(p.iterations)} iterations)…`);
    } else if (msg.type === 'result') {
      showResult(msg.result);
      finish();
    } else {
      show('error', `Benchmark failed: ${msg.message}`);
      finish();
    }
  };
  w.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    show('error', `Benchmark failed: worker error: ${e.message || 'could not start the worker'}`);
    w.terminate();
    worker = null;
    finish();
  };
  worker = w;
  return w;
}

button.addEventListener('click', () => {
  if (button.disabled) return;
  button.disabled = true;
  show('running', 'Starting…');
  getWorker().postMessage({ type: 'run' } satisfies ToWorker);
});
