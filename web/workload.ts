// The benchmark workload, embedded at build time by scripts/build-web.ts (esbuild `define`):
// the assembled xorshift images and their expected results (the browser cannot run GNU as).
import type { WorkloadManifest } from './bench.ts';

declare const __JINX_WORKLOAD__: WorkloadManifest;

export const WORKLOAD: WorkloadManifest = __JINX_WORKLOAD__;
