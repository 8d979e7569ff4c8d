// A bare CPU with RAM and nothing else, started directly in real, protected or long mode.
// Used by `npm run x86`, the differential tests and the CPU benchmark (see emulator/API.md).
import { Cpu, type RunResult, type CpuBus } from './cpu.ts';
import { ATTR, GPR_NAMES } from './core-layout.ts';

export type Bits = 16 | 32 | 64;

export interface RawMachineOptions { memMiB: number; bits: Bits; bus?: CpuBus }

// Flat descriptors (SDM vol. 3 s3.4.5): 0x08 64-bit code, 0x10 data, 0x18 32-bit code.
const GDT = [0n, 0x00af9b000000ffffn, 0x00cf93000000ffffn, 0x00cf9b000000ffffn];
const CODE64 = { sel: 0x08, attr: 0xb | ATTR.S | ATTR.P | ATTR.L | ATTR.G };
const DATA = { sel: 0x10, attr: 0x3 | ATTR.S | ATTR.P | ATTR.DB | ATTR.G };
const CODE32 = { sel: 0x18, attr: 0xb | ATTR.S | ATTR.P | ATTR.DB | ATTR.G };

export class RawMachine {
  readonly bits: Bits;
  readonly memBytes: number;
  /** Start of the 64 KiB at the top of RAM holding the GDT and (64-bit) page tables. */
  readonly systemArea: number;

  constructor(readonly cpu: Cpu, opts: RawMachineOptions) {
    this.bits = opts.bits;
    this.memBytes = opts.memMiB * 1024 * 1024;
    this.systemArea = this.memBytes - 0x10000;
    this.resetState();
  }

  get mem(): Uint8Array { return this.cpu.pool; }

  /** Puts the CPU back into the initial state of its mode (registers zero, RIP 0). */
  resetState(): void {
    const cpu = this.cpu;
    cpu.reset();
    const m = this.mem;
    const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const sys = this.systemArea;
    const gdt = sys + 0x6000;
    GDT.forEach((d, i) => dv.setBigUint64(gdt + i * 8, d, true));
    for (let i = 0; i < 16; i++) cpu.setGpr(i, 0n);
    const limit = 0xffffffff;
    if (this.bits === 64) {
      // PML4 -> PDPT -> 4 page directories of 2 MiB pages: identity map of the first 4 GiB.
      const pml4 = sys, pdpt = sys + 0x1000, pd0 = sys + 0x2000;
      m.fill(0, sys, sys + 0x6000);
      dv.setBigUint64(pml4, BigInt(pdpt) | 0x3n, true);
      for (let g = 0; g < 4; g++) {
        dv.setBigUint64(pdpt + g * 8, BigInt(pd0 + g * 0x1000) | 0x3n, true);
        for (let e = 0; e < 512; e++) {
          const addr = (BigInt(g) << 30n) | (BigInt(e) << 21n);
          dv.setBigUint64(pd0 + g * 0x1000 + e * 8, addr | 0x83n, true); // P RW PS
        }
      }
      cpu.setSegment('cs', { sel: CODE64.sel, base: 0n, limit, attr: CODE64.attr });
      for (const s of ['ss', 'ds', 'es', 'fs', 'gs'] as const) cpu.setSegment(s, { sel: DATA.sel, base: 0n, limit, attr: DATA.attr });
      cpu.set({
        cr0: 0x80050033n, cr3: BigInt(pml4), cr4: 0x620n, efer: 0xd01n,
        gdtr_base: BigInt(gdt), gdtr_limit: GDT.length * 8 - 1, rip: 0n, rflags: 2n,
      });
    } else if (this.bits === 32) {
      cpu.setSegment('cs', { sel: CODE32.sel, base: 0n, limit, attr: CODE32.attr });
      for (const s of ['ss', 'ds', 'es', 'fs', 'gs'] as const) cpu.setSegment(s, { sel: DATA.sel, base: 0n, limit, attr: DATA.attr });
      cpu.set({ cr0: 0x60000011n, cr4: 0x600n, efer: 0n, gdtr_base: BigInt(gdt), gdtr_limit: GDT.length * 8 - 1, rip: 0n, rflags: 2n });
    } else {
      cpu.set({ cr0: 0x60000010n, cr4: 0x600n, rip: 0n, rflags: 2n });
      for (const s of ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const) {
        cpu.setSegment(s, { sel: 0, base: 0n, limit: 0xffff, attr: (s === 'cs' ? 0xb : 0x3) | ATTR.S | ATTR.P });
      }
    }
  }

  load(bytes: Uint8Array, org: number): void {
    if (org < 0 || org + bytes.length > this.systemArea) {
      throw new RangeError(`image of ${bytes.length} bytes at 0x${org.toString(16)} does not fit in ${this.memBytes >> 20} MiB of RAM`);
    }
    this.mem.set(bytes, org);
  }

  setRip(addr: number): void {
    if (this.bits === 16) {
      // Real mode reaches 1 MiB + 64 KiB through CS:IP; pick the highest CS that covers addr.
      const sel = Math.min(addr >>> 4, 0xffff);
      this.cpu.setSegment('cs', { sel, base: BigInt(sel << 4), limit: 0xffff, attr: 0xb | ATTR.S | ATTR.P });
      this.cpu.set({ rip: BigInt(addr - (sel << 4)), halted: 0 });
    } else this.cpu.set({ rip: BigInt(addr), halted: 0 });
  }

  run(maxInsns: number): RunResult { return this.cpu.run(maxInsns); }

  regs(): Record<string, bigint> { return this.cpu.regs(); }
}

export async function createRawMachine(opts: RawMachineOptions): Promise<RawMachine> {
  if (!Number.isInteger(opts.memMiB) || opts.memMiB < 1 || opts.memMiB > 3072) throw new RangeError('memMiB must be 1..3072');
  const cpu = await Cpu.create({ poolBytes: opts.memMiB * 1024 * 1024, raw: true, bus: opts.bus });
  return new RawMachine(cpu, opts);
}

export { GPR_NAMES };
