// Guest scaffolding shared by the system-level tests: assembles a 64-bit test program, then
// builds a GDT (kernel/user code and data, a 64-bit TSS), a TSS with RSP0 and IST1, and an IDT
// whose vector N goes to the program's `isr_N` label (else a stub recording N for runToHlt; `ist_N` selects IST1,
// `user_N` makes the gate DPL 3). JINX_SYS_DEBUG=1 stops at the first exception instead of
// delivering it, which shows where a guest test program goes wrong.
import assert from 'node:assert/strict';
import { assemble } from '../../scripts/lib/gas.ts';
import { createRawMachine, type RawMachine } from '../raw-machine.ts';

export const CODE = 0x100000;
const IDT = 0x300000;
const GDT = 0x310000;
const TSS = 0x320000;
export const KSTACK = 0x340000;   // RSP0 stack top
export const ISTSTACK = 0x350000; // IST1 stack top

// GDT: 08 kernel code64, 10 kernel data, 18 user code32, 20 user data, 28 user code64, 30 TSS.
const SEL = { KCODE: 0x08, KDATA: 0x10, UCODE32: 0x18, UDATA: 0x20, UCODE: 0x28, TSS: 0x30 };

export interface Env { m: RawMachine; sym: Map<string, number>; dv: DataView }

// Vectors without an `isr_N` handler go to a stub that records N here and halts.
const UNEXPECTED = 0x3f0000;

export async function setup(source: string, opts: { deliver?: boolean; userPages?: boolean } = {}): Promise<Env> {
  const handled = new Set([...source.matchAll(/^\s*isr_(\d+):/gm)].map((x) => Number(x[1])));
  const stubs = Array.from({ length: 256 }, (_, v) => (handled.has(v) ? '' : `isr_${v}:\n mov dword ptr [${UNEXPECTED}], ${v}\n hlt\n`)).join('');
  const { bytes, symbols } = assemble(`${source}\n${stubs}`, { bits: 64, org: CODE, output: 'raw', name: 'system test' });
  const m = await createRawMachine({ memMiB: 16, bits: 64 });
  m.load(bytes, CODE);
  const mem = m.mem;
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const gdt = [0n, 0x00af9b000000ffffn, 0x00cf93000000ffffn, 0x00cffb000000ffffn, 0x00cff3000000ffffn, 0x00affb000000ffffn];
  gdt.forEach((d, i) => dv.setBigUint64(GDT + i * 8, d, true));
  // 64-bit TSS descriptor (SDM vol. 3 s8.2.3): base TSS, limit 0x67, type 9 (available), present.
  const base = BigInt(TSS);
  const lo = 0x67n | ((base & 0xffffffn) << 16n) | (0x89n << 40n) | (((base >> 24n) & 0xffn) << 56n);
  dv.setBigUint64(GDT + SEL.TSS, lo, true);
  dv.setBigUint64(GDT + SEL.TSS + 8, base >> 32n, true);
  dv.setBigUint64(TSS + 4, BigInt(KSTACK), true);      // RSP0
  dv.setBigUint64(TSS + 0x24, BigInt(ISTSTACK), true); // IST1
  dv.setUint16(TSS + 0x66, 0x68, true);                 // I/O map base: beyond the limit (no bitmap)
  // IDT: vector N goes to `isr_N` (the program's handler or the generated recording stub).
  for (let v = 0; v < 256; v++) {
    const h = symbols.get(`isr_${v}`)!;
    const ist = symbols.has(`ist_${v}`) ? 1n : 0n;
    const dpl = symbols.has(`user_${v}`) ? 3n : 0n;
    const off = BigInt(h);
    const gate = (off & 0xffffn) | (BigInt(SEL.KCODE) << 16n) | (ist << 32n) | ((0x8en | (dpl << 5n)) << 40n) | (((off >> 16n) & 0xffffn) << 48n);
    dv.setBigUint64(IDT + v * 16, gate, true);
    dv.setBigUint64(IDT + v * 16 + 8, off >> 32n, true);
  }
  if (opts.userPages) {
    // Make the low 4 GiB user-accessible (U/S at every level) except the 2 MiB page at 6 MiB.
    const sys = m.systemArea;
    dv.setBigUint64(sys, dv.getBigUint64(sys, true) | 4n, true);
    for (let g = 0; g < 4; g++) dv.setBigUint64(sys + 0x1000 + g * 8, dv.getBigUint64(sys + 0x1000 + g * 8, true) | 4n, true);
    for (let e = 0; e < 512 * 4; e++) {
      if (e === 3) continue;
      const a = sys + 0x2000 + e * 8;
      dv.setBigUint64(a, dv.getBigUint64(a, true) | 4n, true);
    }
  }
  m.cpu.set({ gdtr_base: GDT, gdtr_limit: 0x3f, idtr_base: IDT, idtr_limit: 256 * 16 - 1, raw: opts.deliver === false || process.env.JINX_SYS_DEBUG ? 1 : 0 });
  m.setRip(symbols.get('_start') ?? CODE);
  dv.setUint32(UNEXPECTED, 0xffffffff, true);
  return { m, sym: symbols, dv };
}

/** Runs until HLT and checks that no vector without a handler was raised; returns the registers. */
export function runToHlt(e: Env, maxInsns: number): Record<string, bigint> {
  const r = e.m.run(maxInsns);
  assert.equal(r.exit, 'hlt', JSON.stringify(r));
  const v = e.dv.getUint32(UNEXPECTED, true);
  assert.equal(v === 0xffffffff ? null : v, null, 'unexpected exception vector');
  return e.m.regs();
}

