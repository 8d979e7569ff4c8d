// Differential test: the host CPU (via native/harness.c) is the oracle for the
// emulator's SnippetRunner. One test per instruction group.
//
//   npx tsx --test emulator/test/diff/diff.test.ts
//
// Environment:
//   JINX_DIFF_CASES=N      approximate number of generated cases (default 20000)
//   JINX_DIFF_SEED=S       PRNG seed (decimal or 0x hex)
//   JINX_DIFF_FILTER=RE    only cases whose group or any mnemonic matches RE
//   JINX_DIFF_EXAMPLES=N   examples shown per failing group (default 3)
//   JINX_DIFF_REPORT=FILE  also write the full report there (default .build/report.txt)

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_CASES, DEFAULT_SEED, generateCases, type Case } from './cases.ts';
import { compareCase, formatCase, loadEmulator, mismatchKey, type FieldDiff } from './compare.ts';
import { BUILD_DIR, CODE_ADDR, DATA_ADDR, assembleSnippets, buildHarness, runNative, type RunInput } from './native.ts';

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}: not a number: ${v}`);
  return n;
}

const SEED = envInt('JINX_DIFF_SEED') ?? DEFAULT_SEED;
const COUNT = envInt('JINX_DIFF_CASES') ?? DEFAULT_CASES;
const FILTER = process.env.JINX_DIFF_FILTER ? new RegExp(process.env.JINX_DIFF_FILTER) : undefined;
const EXAMPLES = envInt('JINX_DIFF_EXAMPLES') ?? 3;
const REPORT = process.env.JINX_DIFF_REPORT ?? join(BUILD_DIR, 'report.txt');

const t0 = performance.now();
const harness = buildHarness();
const genOpts = FILTER ? { seed: SEED, count: COUNT, filter: FILTER } : { seed: SEED, count: COUNT };
const cases = generateCases(genOpts);
const codes = assembleSnippets(cases.map((c) => c.asm));
const inputs: RunInput[] = cases.map((c, i) => ({ ...c, code: codes[i]! }));
const native = runNative(inputs, harness);
const tNative = performance.now() - t0;
const loaded = await loadEmulator();
const emu = 'emu' in loaded ? loaded.emu : null;
const skipReason = 'error' in loaded ? `emulator not available: ${loaded.error.split('\n')[0]}` : false;

const groups = new Map<string, number[]>();
cases.forEach((c, i) => {
  let g = groups.get(c.group);
  if (!g) groups.set(c.group, (g = []));
  g.push(i);
});

// ---------------------------------------------------------------------------
// Native side sanity (runs without the emulator)

test('native harness: known results', () => {
  const page = new Uint8Array(4096);
  for (let i = 0; i < 4096; i++) page[i] = (i * 7) & 0xff;
  const base = (asm: string): RunInput => ({
    code: new Uint8Array(),
    gpr: Array.from({ length: 16 }, (_, i) => 0x0101010101010101n * BigInt(i)),
    rflags: 0x202n,
    xmm: Array.from({ length: 32 }, (_, i) => BigInt(i)),
    mxcsr: 0x1f80,
    page,
    patches: [],
    asm,
  } as RunInput & { asm: string });
  const specs = [
    base('add eax, ebx'),
    base('div ecx'),
    base('mov qword ptr [rbx + 8], rcx\nmov rdx, qword ptr [rbx]'),
    base('paddq xmm0, xmm1\nstmxcsr dword ptr [rip + @S + 0x200100]'),
    base('int3'),
    base('push rax\npushfq'),
  ];
  specs[0]!.gpr[0] = 0xffffffff00000005n;
  specs[0]!.gpr[3] = 0x7ffffffbn;
  specs[1]!.gpr[1] = 0n;
  specs[2]!.gpr[3] = DATA_ADDR;
  specs[2]!.patches = [{ off: 0x10, bytes: new Uint8Array([1, 2, 3]) }];
  specs[4]!.rflags = 0x202n | 0x1n;
  specs[5]!.gpr[4] = DATA_ADDR + 0x800n;
  const asmCodes = assembleSnippets(specs.map((s) => (s as RunInput & { asm: string }).asm));
  specs.forEach((s, i) => (s.code = asmCodes[i]!));
  const [add, div, mem, sse, int3, push] = runNative(specs, harness);

  assert.equal(add!.kind, 'ok');
  assert.equal(add!.gpr[0], 0x80000000n); // 5 + 0x7ffffffb, upper half cleared
  assert.equal(add!.rflags & 0xcd5n, 0x800n | 0x80n | 0x10n | 0x4n); // OF SF AF PF
  assert.equal(add!.rip, CODE_ADDR + 2n);
  assert.equal(add!.gpr[3], 0x7ffffffbn);

  assert.equal(div!.kind, 'exception');
  assert.deepEqual(div!.exception, { vector: 0, error_code: 0 });
  assert.equal(div!.rip, CODE_ADDR);
  assert.equal(div!.gpr[0], 0n);

  assert.equal(mem!.kind, 'ok');
  const expectPage = new Uint8Array(page);
  expectPage.set([1, 2, 3], 0x10);
  new DataView(expectPage.buffer).setBigUint64(8, 0x0101010101010101n, true);
  assert.deepEqual(mem!.data, expectPage);
  assert.equal(mem!.gpr[2], new DataView(expectPage.buffer).getBigUint64(0, true));

  assert.equal(sse!.kind, 'ok');
  assert.equal(sse!.xmm[0], 0n + 2n);
  assert.equal(sse!.xmm[1], 1n + 3n);
  assert.equal(sse!.xmm[31], 31n);
  assert.equal(new DataView(sse!.data.buffer).getUint32(0x100, true), 0x1f80);

  assert.equal(int3!.kind, 'exception');
  assert.equal(int3!.exception!.vector, 3);
  assert.equal(int3!.rip, CODE_ADDR + 1n);
  assert.equal(int3!.rflags & 1n, 1n);

  assert.equal(push!.gpr[4], DATA_ADDR + 0x800n - 16n);
  const pv = new DataView(push!.data.buffer);
  assert.equal(pv.getBigUint64(0x7f8, true), push!.gpr[0]);
  assert.equal(pv.getBigUint64(0x7f0, true) & 0xcd5n, 0n);
});

test(`native harness: ${cases.length} generated cases run cleanly`, () => {
  const bad: string[] = [];
  native.forEach((r, i) => {
    const c = cases[i]!;
    const why =
      r.kind === 'harness-fault' ? 'fault outside the snippet'
      : r.kind === 'timeout' ? 'timeout'
      : r.exception?.vector === 14 ? `page fault at 0x${r.cr2.toString(16)} (address outside the mapped pages: generator bug)`
      : r.nextPageWritten ? 'wrote the page after the data page (not compared)'
      : null;
    if (why) bad.push(`#${c.id} [${c.group}] ${JSON.stringify(c.asm)}: ${why}`);
  });
  assert.equal(bad.length, 0, `invalid cases:\n${bad.slice(0, 20).join('\n')}`);
});

// ---------------------------------------------------------------------------
// Per-group differential tests

interface GroupResult {
  group: string;
  total: number;
  failed: number;
  keys: Map<string, number>;
  ms: number;
}
const results: GroupResult[] = [];
const reportParts: string[] = [];

function runGroup(group: string, idx: number[]): { res: GroupResult; report: string } {
  const t = performance.now();
  const failures: Array<{ c: Case; i: number; d: FieldDiff[] }> = [];
  for (const i of idx) {
    const c = cases[i]!;
    let d: FieldDiff[];
    try {
      d = compareCase(c, codes[i]!, native[i]!, emu!.run(inputs[i]!));
    } catch (e) {
      d = [{ field: 'emulator threw', native: '', emu: String((e as Error).stack ?? e).split('\n').slice(0, 4).join(' | ') }];
    }
    if (d.length) failures.push({ c, i, d });
  }
  const keys = new Map<string, number>();
  for (const f of failures) {
    const k = mismatchKey(f.c);
    keys.set(k, (keys.get(k) ?? 0) + 1);
  }
  const res: GroupResult = { group, total: idx.length, failed: failures.length, keys, ms: performance.now() - t };
  if (!failures.length) return { res, report: '' };
  // examples: one per distinct key first, then more of the same
  const seen = new Set<string>();
  const ex: typeof failures = [];
  for (const f of failures) {
    const k = mismatchKey(f.c);
    if (!seen.has(k) && ex.length < EXAMPLES) {
      seen.add(k);
      ex.push(f);
    }
  }
  for (const f of failures) if (ex.length < EXAMPLES && !ex.includes(f)) ex.push(f);
  const sorted = [...keys].sort((a, b) => b[1] - a[1]);
  const report = [
    `[${group}] ${failures.length}/${idx.length} cases differ`,
    ...sorted.map(([k, n]) => `  ${String(n).padStart(5)}  ${k}`),
    ...ex.map((f) => formatCase(f.c, codes[f.i]!, f.d, `npx tsx emulator/test/diff/run-native.ts --case ${f.c.id} --seed 0x${SEED.toString(16)} --cases ${COUNT}`)),
  ].join('\n');
  return { res, report };
}

for (const [group, idx] of groups) {
  test(`diff ${group} (${idx.length} cases)`, { skip: skipReason }, () => {
    const { res, report } = runGroup(group, idx);
    results.push(res);
    if (report) reportParts.push(report);
    if (res.failed) assert.fail(`\n${report}\n`);
  });
}

after(() => {
  const lines: string[] = [];
  lines.push(`jinx differential test: ${cases.length} cases, seed=0x${SEED.toString(16)}${FILTER ? `, filter=${FILTER}` : ''}`);
  lines.push(`native: generate+assemble+run ${(tNative / 1000).toFixed(1)}s`);
  if (!emu) {
    lines.push(String(skipReason));
  } else {
    const failed = results.filter((r) => r.failed);
    const emuMs = results.reduce((a, r) => a + r.ms, 0);
    const totalFailed = results.reduce((a, r) => a + r.failed, 0);
    lines.push(`emulator: ${(emuMs / 1000).toFixed(1)}s; ${totalFailed} of ${cases.length} cases differ in ${failed.length} of ${results.length} groups`);
    for (const r of failed.sort((a, b) => b.failed - a.failed)) {
      const top = [...r.keys].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${k} x${n}`).join('; ');
      lines.push(`  ${r.group.padEnd(16)} ${String(r.failed).padStart(5)}/${String(r.total).padEnd(5)} ${top}`);
    }
  }
  const summary = lines.join('\n');
  try {
    writeFileSync(REPORT, `${summary}\n\n${reportParts.join('\n\n')}\n`);
  } catch {
    /* ignore */
  }
  console.log(`${summary}\n(full report: ${REPORT})`);
});
