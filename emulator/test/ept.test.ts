// EPT (Intel SDM vol. 3 ch. 29) and the device interface: the host writes real 4-level EPT
// tables into the pool, the CPU walks them in two dimensions, and accesses EPT does not allow
// come back as 'ept_violation' exits that restart the instruction once the host fixes the entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../scripts/lib/gas.ts';
import { createRawMachine, type RawMachine } from '../raw-machine.ts';
import type { CpuBus } from '../cpu.ts';

const MiB = 1024 * 1024;
const EPT_BASE = 24 * MiB;   // host-physical home of the EPT tables (outside the guest's 16 MiB)
const R = 1n, W = 2n, X = 4n, LARGE = 0x80n, WB = 6n << 3n;

class Ept {
  private next = EPT_BASE + 0x1000;
  constructor(private readonly dv: DataView) {}
  get pml4(): number { return EPT_BASE; }
  private table(parent: number, index: number): number {
    const e = this.dv.getBigUint64(parent + index * 8, true);
    if ((e & 7n) !== 0n && (e & LARGE) === 0n) return Number(e & 0xffffffffff000n);
    // Absent, or a large leaf being split: a fresh table replaces it (callers fill it).
    const t = this.next; this.next += 0x1000;
    for (let i = 0; i < 512; i++) this.dv.setBigUint64(t + i * 8, 0n, true);
    this.dv.setBigUint64(parent + index * 8, BigInt(t) | R | W | X, true);
    return t;
  }
  private pd(gpa: number): number {
    const pdpt = this.table(this.pml4, Math.floor(gpa / 2 ** 39) % 512);
    return this.table(pdpt, Math.floor(gpa / 2 ** 30) % 512);
  }
  map2M(gpa: number, hpa: number, perms: bigint): void {
    this.dv.setBigUint64(this.pd(gpa) + (Math.floor(gpa / (2 * MiB)) % 512) * 8, BigInt(hpa) | perms | LARGE | WB, true);
  }
  map4K(gpa: number, hpa: number, perms: bigint): void {
    const pt = this.table(this.pd(gpa), Math.floor(gpa / (2 * MiB)) % 512);
    this.dv.setBigUint64(pt + (Math.floor(gpa / 4096) % 512) * 8, BigInt(hpa) | perms | WB, true);
  }
  entry4K(gpa: number): bigint {
    const pt = this.table(this.pd(gpa), Math.floor(gpa / (2 * MiB)) % 512);
    return this.dv.getBigUint64(pt + (Math.floor(gpa / 4096) % 512) * 8, true);
  }
  unmap2M(gpa: number): void { this.dv.setBigUint64(this.pd(gpa) + (Math.floor(gpa / (2 * MiB)) % 512) * 8, 0n, true); }
}

async function machine(src: string): Promise<{ m: RawMachine; ept: Ept; dv: DataView }> {
  const { bytes } = assemble(src, { bits: 64, org: 0x100000, output: 'raw', name: 'ept test' });
  // 32 MiB pool: the guest believes it has 16 MiB (page tables at its top), EPT lives above.
  const m = await createRawMachine({ memMiB: 32, bits: 64 });
  const dv = new DataView(m.mem.buffer, m.mem.byteOffset, m.mem.byteLength);
  // The guest's own paging structures sit at the top of the 32 MiB RAM view: map that 2 MiB
  // region 1:1 as well.
  m.load(bytes, 0x100000);
  m.setRip(0x100000);
  const ept = new Ept(dv);
  for (let gpa = 0; gpa < 16 * MiB; gpa += 2 * MiB) ept.map2M(gpa, gpa, R | W | X);
  ept.map2M(30 * MiB, 30 * MiB, R | W | X); // guest page tables and GDT (top 64 KiB of 32 MiB)
  return { m, ept, dv };
}

test('EPT: a 4 KiB remapping is honoured and an unmapped GPA exits with its address and qualification', async () => {
  const { m, ept, dv } = await machine(`
    mov rax, [0x800000]      /* remapped to host 20 MiB */
    mov rbx, [0xa00008]      /* not mapped: EPT violation, then retried */
    hlt
  `);
  // GPA 8 MiB -> HPA 20 MiB, 4 KiB granularity for that page (the rest of the 2 MiB stays 1:1).
  for (let p = 0; p < 512; p++) ept.map4K(8 * MiB + p * 4096, 8 * MiB + p * 4096, R | W | X);
  ept.map4K(8 * MiB, 20 * MiB, R | W);
  dv.setBigUint64(20 * MiB, 0x1122334455667788n, true);
  dv.setBigUint64(8 * MiB, 0xdeadn, true); // what a 1:1 map would have read
  ept.unmap2M(10 * MiB);
  m.cpu.set({ eptp: BigInt(ept.pml4) | (3n << 3n) | 6n });
  const r1 = m.run(100);
  assert.equal(r1.exit, 'ept_violation');
  assert.equal(r1.ept?.gpa, 0xa00008n);
  // qualification: data read (bit 0), no permissions (bits 3-5 clear), linear address valid (7),
  // access to the final translation (8) — SDM vol. 3 table 28-7.
  assert.equal(r1.ept?.qualification, 0x1 | 0x80 | 0x100);
  assert.equal(r1.ept?.linear, 0xa00008n);
  assert.equal(m.regs().rax, 0x1122334455667788n, 'first load went through the remapping');
  assert.equal(m.regs().rip, 0x100008n, 'RIP stays on the faulting instruction');
  // The host backs the region and resumes: the instruction is re-executed.
  ept.map2M(10 * MiB, 10 * MiB, R | W | X);
  dv.setBigUint64(10 * MiB + 8, 42n, true);
  m.cpu.flushTlb();
  const r2 = m.run(100);
  assert.equal(r2.exit, 'hlt');
  assert.equal(m.regs().rbx, 42n);
});

test('EPT write protection: a read caches the page, the following write still exits (KSM-style COW)', async () => {
  const { m, ept, dv } = await machine(`
    mov rax, [0x600000]
    mov qword ptr [0x600000], 7
    mov rbx, [0x600000]
    hlt
  `);
  for (let p = 0; p < 512; p++) ept.map4K(6 * MiB + p * 4096, 6 * MiB + p * 4096, R | W | X);
  ept.map4K(6 * MiB, 6 * MiB, R | X); // write-protected
  dv.setBigUint64(6 * MiB, 5n, true);
  m.cpu.set({ eptp: BigInt(ept.pml4) | (3n << 3n) | 6n | 0x40n }); // with accessed/dirty flags
  const r1 = m.run(100);
  assert.equal(r1.exit, 'ept_violation');
  assert.equal(r1.ept?.gpa, 0x600000n);
  assert.equal(r1.ept?.qualification, 0x2 | (0x1 << 3) | (0x4 << 3) | 0x80 | 0x100, 'write to an R+X page');
  assert.equal(m.regs().rax, 5n);
  assert.equal(ept.entry4K(6 * MiB) & 0x200n, 0n, 'not dirty: the write did not happen');
  assert.equal(ept.entry4K(6 * MiB) & 0x100n, 0x100n, 'accessed flag set by the read');
  // COW break: copy to a new host frame, map it writable, flush, resume.
  m.mem.copyWithin(21 * MiB, 6 * MiB, 6 * MiB + 4096);
  ept.map4K(6 * MiB, 21 * MiB, R | W | X);
  m.cpu.flushTlb();
  const r2 = m.run(100);
  assert.equal(r2.exit, 'hlt');
  assert.equal(m.regs().rbx, 7n);
  assert.equal(dv.getBigUint64(21 * MiB, true), 7n, 'written to the new frame');
  assert.equal(dv.getBigUint64(6 * MiB, true), 5n, 'the shared frame is untouched');
  assert.equal(ept.entry4K(6 * MiB) & 0x200n, 0x200n, 'dirty flag set on the new mapping');
});

test('EPT violation on a guest page-table access reports a paging-structure access (bit 8 clear)', async () => {
  const { m, ept } = await machine(`
    mov rax, [0x1000]
    hlt
  `);
  ept.unmap2M(30 * MiB); // the guest's page tables are now unbacked
  m.cpu.set({ eptp: BigInt(ept.pml4) | (3n << 3n) | 6n });
  const r = m.run(10);
  assert.equal(r.exit, 'ept_violation');
  assert.equal(Number(r.ept!.gpa >> 21n), 15, 'the PML4 page at the top of guest RAM');
  assert.equal(r.ept!.qualification & 0x180, 0x80, 'linear address valid, not the final translation');
});

test('port I/O and MMIO reach the bus with the right sizes and values', async () => {
  const calls: string[] = [];
  const bus: CpuBus = {
    pioRead: (port, size) => { calls.push(`in ${port.toString(16)}/${size}`); return 0xabcd1234 & (size === 4 ? 0xffffffff : (1 << (size * 8)) - 1); },
    pioWrite: (port, size, v) => { calls.push(`out ${port.toString(16)}/${size}=${v.toString(16)}`); },
    mmioRead: (a, size) => { calls.push(`rd ${a.toString(16)}/${size}`); return 0x0102030405060708n; },
    mmioWrite: (a, size, v) => { calls.push(`wr ${a.toString(16)}/${size}=${v.toString(16)}`); },
  };
  const { bytes } = assemble(`
    mov dx, 0x3f8
    mov al, 0x41
    out dx, al
    in eax, 0x71
    mov r8, rax
    mov rdi, 0xfeb00000
    mov dword ptr [rdi + 0x70], 0x1234
    mov r9, qword ptr [rdi + 0x10]
    hlt
  `, { bits: 64, org: 0x100000, output: 'raw' });
  const m = await createRawMachine({ memMiB: 16, bits: 64, bus });
  m.cpu.setMmioWindows([[0xfeb00000, 0xfeb01000]]);
  m.load(bytes, 0x100000);
  m.setRip(0x100000);
  const r = m.run(100);
  assert.equal(r.exit, 'hlt');
  assert.deepEqual(calls, ['out 3f8/1=41', 'in 71/4', 'wr feb00070/4=1234', 'rd feb00010/8']);
  assert.equal(m.regs().r8, 0xabcd1234n);
  assert.equal(m.regs().r9, 0x0102030405060708n);
});
