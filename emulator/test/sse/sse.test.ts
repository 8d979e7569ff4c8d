// SSE/SSE2 native-vs-emulator test: the host CPU is the oracle (see sse-cases.ts).
//
//   npx tsx --test emulator/test/sse/sse.test.ts
//
// Environment: JINX_SSE_SCALE (case-count multiplier, default 1), JINX_SSE_SEED,
// JINX_SSE_FILTER (regex on group names), JINX_SSE_EXAMPLES (examples per failing group).
// RCPPS/RCPSS/RSQRTPS/RSQRTSS return implementation-specific approximations (SDM vol. 2:
// relative error <= 1.5 * 2^-12), so for them XMM lanes must agree with the CPU within twice
// that bound and special values exactly; every other field is compared bit for bit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Case } from '../diff/cases.ts';
import { compareCase, formatCase, loadEmulator, type FieldDiff } from '../diff/compare.ts';
import { assembleSnippets, buildHarness, runNative, type RunInput } from '../diff/native.ts';
import { generateSseCases } from './sse-cases.ts';

const num = (v: string | undefined, d: number): number => (v ? Number(v) : d);
const SEED = num(process.env.JINX_SSE_SEED, 0x5353452) >>> 0;
const SCALE = num(process.env.JINX_SSE_SCALE, 1);
const FILTER = process.env.JINX_SSE_FILTER ? new RegExp(process.env.JINX_SSE_FILTER) : undefined;
const EXAMPLES = num(process.env.JINX_SSE_EXAMPLES, 3);
const APPROX = /^rcp|^rsqrt/;

// True when an xmm field differs only by f32 lanes that are both finite, non-zero, of the same
// sign and within 2 * 1.5 * 2^-12 relative distance (each side meets the SDM bound).
function xmmWithinApproxBound(f: FieldDiff, nat: bigint[], emu: bigint[]): boolean {
  const m = /^xmm(\d+)$/.exec(f.field);
  if (!m) return false;
  const r = Number(m[1]);
  const lanes = (v: bigint[]) => {
    const b = new DataView(new ArrayBuffer(16));
    b.setBigUint64(0, v[2 * r] ?? 0n, true); b.setBigUint64(8, v[2 * r + 1] ?? 0n, true);
    return [0, 4, 8, 12].map((o) => ({ bits: b.getUint32(o, true), value: b.getFloat32(o, true) }));
  };
  const a = lanes(nat); const b = lanes(emu);
  return a.every((x, k) => {
    const y = b[k]!;
    if (x.bits === y.bits) return true;
    if (!Number.isFinite(x.value) || !Number.isFinite(y.value) || x.value === 0 || y.value === 0) return false;
    if (Math.sign(x.value) !== Math.sign(y.value)) return false;
    return Math.abs(x.value - y.value) <= 2 * 1.5 * 2 ** -12 * Math.abs(x.value);
  });
}

const harness = buildHarness();
const cases = generateSseCases(SEED, SCALE, FILTER);
const codes = assembleSnippets(cases.map((c) => c.asm));
const inputs: RunInput[] = cases.map((c, i) => ({ ...c, code: codes[i]! }));
const native = runNative(inputs, harness);
const loaded = await loadEmulator();
if ('error' in loaded) throw new Error(loaded.error);
const emu = loaded.emu;

test('native runs are clean', () => {
  const bad = native
    .map((r, i) => (r.kind === 'harness-fault' || r.kind === 'timeout' || r.exception?.vector === 14 ? `#${i} ${cases[i]!.asm}` : ''))
    .filter(Boolean);
  assert.equal(bad.length, 0, bad.slice(0, 10).join('\n'));
});

const groups = new Map<string, number[]>();
cases.forEach((c, i) => {
  const g = groups.get(c.group) ?? [];
  g.push(i);
  groups.set(c.group, g);
});

for (const [group, idx] of groups) {
  test(`sse ${group} (${idx.length})`, () => {
    const fails: Array<{ c: Case; i: number; d: FieldDiff[] }> = [];
    for (const i of idx) {
      let d: FieldDiff[];
      try {
        const out = emu.run(inputs[i]!);
        d = compareCase(cases[i]!, codes[i]!, native[i]!, out);
        if (APPROX.test(group)) d = d.filter((f) => !xmmWithinApproxBound(f, native[i]!.xmm, out.xmm));
      } catch (e) {
        d = [{ field: 'emulator threw', native: '', emu: String(e) }];
      }
      if (d.length) fails.push({ c: cases[i]!, i, d });
    }
    if (!fails.length) return;
    const report = [`[${group}] ${fails.length}/${idx.length} differ`, ...fails.slice(0, EXAMPLES).map((f) => formatCase(f.c, codes[f.i]!, f.d))].join('\n');
    assert.fail(`\n${report}\n`);
  });
}
