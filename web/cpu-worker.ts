// Web Worker running the CPU benchmark, so the page stays responsive while the emulator runs.
// Bundled on its own by scripts/build-web.ts into web/dist/cpu-worker.js.
import { createRawMachine } from '../emulator/raw-machine.ts';
import { measure } from './bench.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { WORKLOAD } from './workload.ts';

const post = (msg: FromWorker): void => { (self as unknown as Worker).postMessage(msg); };

let busy = false;

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  if (e.data?.type !== 'run') return;
  if (busy) { post({ type: 'error', message: 'a benchmark is already running' }); return; }
  busy = true;
  try {
    const result = await measure(createRawMachine, WORKLOAD, (progress) => post({ type: 'progress', progress }));
    post({ type: 'result', result });
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  } finally {
    busy = false;
  }
};
