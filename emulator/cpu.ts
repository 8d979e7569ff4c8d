// TypeScript side of the CPU: instantiates the AssemblyScript core on a shared
// WebAssembly.Memory, routes its port/MMIO callbacks, owns the LAPIC and guest time,
// and turns the core's abort protocol into exits. No Node-only APIs (runs in a Worker too).
import { CORE_WASM_BASE64 } from './build/core-wasm.ts';
import {
  POOL, STATE_FIRST, STATE_REGION, MAX_CPUS, OFF_REGS, OFF_XMM, OFF_SEGS, OFF_SYNC, OFF_MMIO_WIN,
  SEG, SYNC_SLOTS, EXIT, GPR_NAMES, type SegName, type SyncName,
} from './core-layout.ts';
import { Lapic } from './lapic.ts';

/** Devices outside the CPU: everything that is not RAM or the LAPIC. */
export interface CpuBus {
  pioRead(port: number, size: 1 | 2 | 4): number;
  pioWrite(port: number, size: 1 | 2 | 4, value: number): void;
  mmioRead(gpa: number, size: 1 | 2 | 4 | 8): bigint;
  mmioWrite(gpa: number, size: 1 | 2 | 4 | 8, value: bigint): void;
}

export type ExitReason = 'limit' | 'hlt' | 'exception' | 'triple_fault' | 'ept_violation' | 'stop';

export interface RunResult {
  exit: ExitReason;
  instructions: number;
  exception: { vector: number; error_code: number } | null;
  /** EPT violation: guest-physical address and exit qualification (SDM vol. 3 table 28-7). */
  ept?: { gpa: bigint; qualification: number; linear: bigint };
  reason?: string;
}

export interface SegmentValue { sel: number; base: bigint; limit: number; attr: number }

interface CoreExports {
  init(base: number): void;
  run(budget: number): number;
  onAbort(): number;
  saveState(): void;
  loadState(): void;
  resetCpu(): void;
  refreshMode(): void;
  flushTlb(): void;
  flushTlbPage(lin: bigint): void;
  setIrqPending(v: number): void;
  requestExit(): void;
  getIcount(): number;
  getVclock(): number;
  advanceVclock(n: number): void;
  isHalted(): number;
  clearTscDeadline(): void;
  setHaltedState(v: number): void;
  invalidateCode(hpa: number, len: number): void;
  flushCodeCache(): void;
  setBlockEngine(on: number): void;
  codeCacheStats(which: number): number;
}

const nullBus: CpuBus = {
  pioRead: (_p, size) => (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff),
  pioWrite: () => {},
  mmioRead: (_a, size) => (size === 8 ? 0xffffffffffffffffn : BigInt(2 ** (size * 8) - 1)),
  mmioWrite: () => {},
};

let coreModule: Promise<WebAssembly.Module> | undefined;
function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
export function loadCoreModule(): Promise<WebAssembly.Module> {
  coreModule ??= WebAssembly.compile(decodeBase64(CORE_WASM_BASE64) as BufferSource);
  return coreModule;
}

/** Memory pages needed for a pool of `poolBytes` host-physical bytes. */
export function memoryPagesFor(poolBytes: number): number {
  return Math.ceil((POOL + poolBytes) / 65536);
}
export function createMemory(poolBytes: number): WebAssembly.Memory {
  const pages = memoryPagesFor(poolBytes);
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}

const cpusPerMemory = new WeakMap<WebAssembly.Memory, number>();
const SLICE = 1 << 20; // instructions per core.run call: bounds timer latency and stop latency

export interface CpuOptions {
  /** Shared memory holding every host frame; created when absent. */
  memory?: WebAssembly.Memory;
  /** Host-physical bytes available from POOL (raw mode: guest RAM size). */
  poolBytes: number;
  bus?: CpuBus;
  /** Raw mode: no EPT, guest-physical == pool offset, exceptions stop the run. */
  raw?: boolean;
}

export class Cpu {
  readonly memory: WebAssembly.Memory;
  readonly poolBytes: number;
  readonly lapic: Lapic;
  /** Byte offset of host-physical address 0 in `memory`. */
  readonly poolBase = POOL;
  private readonly ex: CoreExports;
  private readonly base: number;
  private bus: CpuBus;
  private readonly raw: boolean;
  /** HLT ends run() (raw runner semantics); when false, HLT idles until the next interrupt. */
  haltEndsRun: boolean;
  private stopFlag = false;

  private constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, base: number, opts: CpuOptions, lapic: Lapic) {
    this.ex = instance.exports as unknown as CoreExports;
    this.memory = memory;
    this.base = base;
    this.poolBytes = opts.poolBytes;
    this.bus = opts.bus ?? nullBus;
    this.raw = opts.raw ?? false;
    this.haltEndsRun = this.raw;
    this.lapic = lapic;
    this.ex.init(base);
    new Uint8Array(memory.buffer, base, STATE_REGION).fill(0);
    this.ex.resetCpu();
    this.ex.saveState();
    this.setSync('raw', this.raw ? 1n : 0n);
    this.setSync('ram_bytes', BigInt(this.raw ? opts.poolBytes : 0));
    this.ex.loadState();
  }

  static async create(opts: CpuOptions): Promise<Cpu> {
    const memory = opts.memory ?? createMemory(opts.poolBytes);
    if (memory.buffer.byteLength < POOL + opts.poolBytes) throw new Error('memory is smaller than the pool');
    const index = cpusPerMemory.get(memory) ?? 0;
    if (index >= MAX_CPUS) throw new Error(`at most ${MAX_CPUS} CPUs share one memory`);
    cpusPerMemory.set(memory, index + 1);
    const base = STATE_FIRST + index * STATE_REGION;
    let cpu: Cpu | undefined;
    const lapic = new Lapic({
      now: () => cpu!.vclock,
      onChange: () => cpu?.lapicChanged(),
    });
    const imports = {
      env: {
        memory,
        abort: () => { throw new Error('core abort'); },
        pioRead: (port: number, size: number) => cpu!.bus.pioRead(port, size as 1 | 2 | 4) | 0,
        pioWrite: (port: number, size: number, value: number) => cpu!.bus.pioWrite(port, size as 1 | 2 | 4, value >>> 0),
        mmioRead: (gpa: bigint, size: number) => cpu!.mmioRead(gpa, size as 1 | 2 | 4 | 8),
        mmioWrite: (gpa: bigint, size: number, value: bigint) => cpu!.mmioWrite(gpa, size as 1 | 2 | 4 | 8, value),
        ackIrq: () => { const v = lapic.ack(); cpu!.ex.setIrqPending(lapic.hasPending() ? 1 : 0); return v; },
        tprWrite: (v: number) => lapic.setTpr(v << 4),
        tprRead: () => lapic.tpr() >> 4,
      },
    };
    const instance = await WebAssembly.instantiate(await loadCoreModule(), imports);
    cpu = new Cpu(instance, memory, base, opts, lapic);
    return cpu;
  }

  setBus(bus: CpuBus): void { this.bus = bus; }

  // ---------------------------------------------------------------- memory views
  /** Guest RAM in raw mode / the host frame pool otherwise (host-physical address 0 = index 0). */
  get pool(): Uint8Array { return new Uint8Array(this.memory.buffer, POOL, this.poolBytes); }
  private view(): DataView { return new DataView(this.memory.buffer); }

  // ---------------------------------------------------------------- registers and state
  getGpr(i: number): bigint { return this.view().getBigUint64(this.base + OFF_REGS + i * 8, true); }
  setGpr(i: number, v: bigint): void { this.view().setBigUint64(this.base + OFF_REGS + i * 8, BigInt.asUintN(64, v), true); }
  getXmm(i: number): [bigint, bigint] {
    const v = this.view();
    return [v.getBigUint64(this.base + OFF_XMM + i * 16, true), v.getBigUint64(this.base + OFF_XMM + i * 16 + 8, true)];
  }
  setXmm(i: number, lo: bigint, hi: bigint): void {
    const v = this.view();
    v.setBigUint64(this.base + OFF_XMM + i * 16, BigInt.asUintN(64, lo), true);
    v.setBigUint64(this.base + OFF_XMM + i * 16 + 8, BigInt.asUintN(64, hi), true);
  }
  private syncAddr(name: SyncName): number { return this.base + OFF_SYNC + SYNC_SLOTS.indexOf(name) * 8; }
  private getSync(name: SyncName): bigint { return this.view().getBigUint64(this.syncAddr(name), true); }
  private setSync(name: SyncName, v: bigint): void { this.view().setBigUint64(this.syncAddr(name), BigInt.asUintN(64, v), true); }

  /** Reads architectural state kept in core globals (RIP, RFLAGS, CRs, MSRs...). */
  get(name: SyncName): bigint { this.ex.saveState(); return this.getSync(name); }
  /** Writes state kept in core globals; flushes the TLB and recomputes the mode. */
  set(values: Partial<Record<SyncName, bigint | number>>): void {
    this.ex.saveState();
    for (const [k, v] of Object.entries(values)) this.setSync(k as SyncName, BigInt(v as number | bigint));
    this.ex.loadState();
  }
  getSegment(name: SegName): SegmentValue {
    const v = this.view(); const p = this.base + OFF_SEGS + SEG[name] * 32;
    return { base: v.getBigUint64(p, true), limit: v.getUint32(p + 8, true), sel: v.getUint32(p + 12, true), attr: v.getUint32(p + 16, true) };
  }
  setSegment(name: SegName, s: SegmentValue): void {
    const v = this.view(); const p = this.base + OFF_SEGS + SEG[name] * 32;
    v.setBigUint64(p, s.base, true); v.setUint32(p + 8, s.limit >>> 0, true);
    v.setUint32(p + 12, s.sel, true); v.setUint32(p + 16, s.attr, true);
    this.ex.refreshMode();
  }
  /** Guest-physical MMIO windows, checked before RAM/EPT (up to 8). */
  setMmioWindows(windows: Array<[number, number]>): void {
    if (windows.length > 8) throw new Error('at most 8 MMIO windows');
    const v = this.view();
    for (let i = 0; i < 8; i++) {
      const [s, e] = windows[i] ?? [0, 0];
      v.setBigUint64(this.base + OFF_MMIO_WIN + i * 16, BigInt(s), true);
      v.setBigUint64(this.base + OFF_MMIO_WIN + i * 16 + 8, BigInt(e), true);
    }
  }
  regs(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    GPR_NAMES.forEach((n, i) => { out[n] = this.getGpr(i); });
    this.ex.saveState();
    out.rip = this.getSync('rip');
    out.rflags = this.getSync('rflags');
    return out;
  }
  get instructions(): number { return this.ex.getIcount(); }
  /** Guest time in ticks (one per retired instruction plus time skipped while halted). */
  get vclock(): number { return this.ex.getVclock(); }
  get halted(): boolean { return this.ex.isHalted() !== 0; }
  reset(): void { this.ex.resetCpu(); this.lapic.reset(); }
  /** INVEPT / full TLB flush: required after the host changes EPT entries (also drops all
   *  decoded code, which is keyed by host frame). */
  flushTlb(): void { this.ex.flushTlb(); }
  /** The host wrote `len` bytes of the pool at host-physical `hpa` (DMA, loaders) while the CPU
   *  may hold decoded code there: call this before running again. (set()/reset() drop all
   *  decoded code anyway.) */
  invalidateCode(hpa: number, len: number): void { this.ex.invalidateCode(hpa, len); }
  /** Debugging and tests: false runs everything through the one-instruction interpreter. */
  setBlockEngine(on: boolean): void { this.ex.setBlockEngine(on ? 1 : 0); }
  /** Decoded-code cache statistics: blocks built and full flushes since creation. */
  codeCacheStats(): { blocks: number; flushes: number } {
    return { blocks: this.ex.codeCacheStats(0), flushes: this.ex.codeCacheStats(1) };
  }
  /** Ask a running run() to return with exit 'stop' (safe to call from a callback). */
  stop(): void { this.stopFlag = true; this.ex.requestExit(); }
  /** An interrupt line changed (LAPIC IRR): let the core re-check. */
  private lapicChanged(): void {
    this.ex.setIrqPending(this.lapic.hasPending() ? 1 : 0);
    this.ex.requestExit();
  }

  // ---------------------------------------------------------------- MMIO routing
  private apicPage(): number { return Number(this.getSync('apic_base') & 0xfffff000n); }
  private mmioRead(gpa: bigint, size: 1 | 2 | 4 | 8): bigint {
    const a = Number(gpa);
    const ap = this.lapic.base;
    if (a >= ap && a < ap + 0x1000) return BigInt(this.lapic.mmioRead(a - ap, size) >>> 0);
    return BigInt.asUintN(64, this.bus.mmioRead(a, size));
  }
  private mmioWrite(gpa: bigint, size: 1 | 2 | 4 | 8, value: bigint): void {
    const a = Number(gpa);
    const ap = this.lapic.base;
    if (a >= ap && a < ap + 0x1000) { this.lapic.mmioWrite(a - ap, size, Number(value & 0xffffffffn)); return; }
    this.bus.mmioWrite(a, size, value);
  }

  // ---------------------------------------------------------------- execution
  private coreRun(budget: number): number {
    try {
      return this.ex.run(budget);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    }
    // A fault unwound the core; deliver it (which may fault again: double/triple fault).
    for (let depth = 0; depth < 4; depth++) {
      try {
        return this.ex.onAbort();
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      }
    }
    return EXIT.TRIPLE_FAULT;
  }

  /** Runs until `maxInsns` instructions retire or an exit the caller must handle. */
  run(maxInsns: number): RunResult {
    const start = this.ex.getIcount();
    this.stopFlag = false;
    const limit = start + maxInsns;
    for (;;) {
      const done = this.ex.getIcount();
      if (done >= limit) return this.result('limit', start);
      if (this.stopFlag) return this.result('stop', start);
      // Guest time: fire due LAPIC timers, then run no further than the next timer event.
      this.syncTimer();
      let budget = Math.min(limit - done, SLICE);
      const next = this.lapic.nextEvent();
      if (next !== null) budget = Math.max(1, Math.min(budget, Math.ceil(next - this.vclock)));
      const r = this.coreRun(budget);
      switch (r) {
        case EXIT.NONE: case EXIT.LIMIT: case EXIT.REQUEST:
          continue;
        case EXIT.HLT: {
          if (this.haltEndsRun) return this.result('hlt', start);
          if (this.stopFlag) return this.result('stop', start);
          // Halted: skip guest time to the next timer event (QEMU -icount style), else report idle.
          this.syncTimer();
          if (this.lapic.hasPending()) { this.ex.setIrqPending(1); if (this.interruptsEnabled()) continue; }
          const ev = this.lapic.nextEvent();
          if (ev !== null && this.interruptsEnabled()) {
            const skip = Math.ceil(ev - this.vclock);
            if (skip > 0) this.ex.advanceVclock(skip);
            continue;
          }
          return this.result('hlt', start);
        }
        case EXIT.EXCEPTION: return this.result('exception', start);
        case EXIT.TRIPLE_FAULT: return this.result('triple_fault', start);
        case EXIT.EPT_VIOLATION: return this.result('ept_violation', start);
        default: {
          const rip = this.get('rip');
          throw new Error(`internal emulator error at rip=0x${rip.toString(16)}`);
        }
      }
    }
  }

  private interruptsEnabled(): boolean { return (this.get('rflags') & 0x200n) !== 0n; }

  private syncTimer(): void {
    this.ex.saveState();
    this.lapic.setApicBase(Number(this.getSync('apic_base')));
    this.lapic.setTscDeadline(this.getSync('tsc_deadline'), this.getSync('tsc_offset'));
    this.lapic.advance();
    if (this.lapic.deadlineFired) { this.lapic.deadlineFired = false; this.ex.clearTscDeadline(); }
    this.ex.setIrqPending(this.lapic.hasPending() ? 1 : 0);
  }

  private result(exit: ExitReason, start: number): RunResult {
    this.ex.saveState();
    const res: RunResult = { exit, instructions: this.ex.getIcount() - start, exception: null };
    if (exit === 'exception') {
      res.exception = { vector: Number(this.getSync('exc_vector')), error_code: Number(this.getSync('exc_error')) };
    } else if (exit === 'ept_violation') {
      res.ept = { gpa: this.getSync('exit_gpa'), qualification: Number(this.getSync('exit_qual')), linear: this.getSync('exit_lin') };
    } else if (exit === 'triple_fault') {
      res.reason = `triple fault at rip=0x${this.getSync('rip').toString(16)} (last exception vector ${Number(BigInt.asIntN(64, this.getSync('exc_vector')))})`;
    }
    return res;
  }
}
