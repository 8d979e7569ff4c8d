// `npm test`: every *.test.ts under the components' test folders, through node's test runner
// (TAP output ends with "# pass N" / "# fail N"). Extra arguments narrow the file list by substring.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '../..');
const roots = ['emulator', 'hypervisor', 'guest-kernel', 'web', 'scripts'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'build' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts') && p.split('/').includes('test')) files.push(relative(root, p));
  }
}
for (const r of roots) { try { walk(join(root, r)); } catch { /* component not present yet */ } }
const filters = process.argv.slice(2);
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (selected.length === 0) { console.error('run-tests: no test files matched'); process.exit(2); }
console.error(`run-tests: ${selected.length} files: ${selected.join(' ')}`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...selected], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
