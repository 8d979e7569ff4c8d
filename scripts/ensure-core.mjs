// Rebuilds the CPU core only when its sources are newer than the build (npm run x86 / bench).
import { coreIsStale, buildCore } from './build-core.mjs';
if (coreIsStale()) buildCore();
