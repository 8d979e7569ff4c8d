// Test-case generator for the differential tests (native CPU vs emulator).
//
// Each case is a tiny snippet in GNU as Intel syntax plus a complete initial
// machine state. Snippets run at CODE_ADDR (0x100000); memory operands point
// into the data page at DATA_ADDR (0x200000). Cases record which RFLAGS bits
// (and, rarely, which register/memory results) the Intel/AMD manuals call
// undefined, so the comparison can ignore exactly those.
//
// Generation is deterministic for a given seed: every group has its own PRNG
// stream derived from (seed, group name), so adding or filtering groups does
// not change the cases of other groups.

import { DATA_ADDR, PAGE_SIZE, SNIPPET_BASE, type Patch, type RunInput } from './native.ts';

export const CF = 0x1n;
export const PF = 0x4n;
export const AF = 0x10n;
export const ZF = 0x40n;
export const SF = 0x80n;
export const TF = 0x100n;
export const IF = 0x200n;
export const DF = 0x400n;
export const OF = 0x800n;
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Flags that are compared (minus per-case undefined ones). */
export const COMPARED_FLAGS = STATUS_FLAGS | DF;

export interface Case extends Omit<RunInput, 'code'> {
  id: number;
  group: string;
  asm: string;
  /** RFLAGS bits whose final value is undefined per the manuals. */
  undefFlags: bigint;
  /** Bitmask of GPRs (index 0 = rax) whose final value is undefined. */
  undefGpr: number;
  /** Data page byte ranges [off, len) whose final value is undefined. */
  undefData: Array<[number, number]>;
  note?: string;
  /** index of the snippet line holding the instruction under test (default: first) */
  focus?: number;
}

// ---------------------------------------------------------------------------
// PRNG (sfc32 seeded with splitmix32)

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(arr: readonly T[]): T {
    return arr[this.int(arr.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  bits(w: number): bigint {
    return w >= 64 ? this.u64() : this.u64() & mask(w);
  }
}

function hashStr(s: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------
// Value helpers

export function mask(w: number): bigint {
  return (1n << BigInt(w)) - 1n;
}
function sext(v: bigint, w: number): bigint {
  return BigInt.asIntN(w, v);
}
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

const edgeCache = new Map<number, bigint[]>();
function edgeValues(w: number): bigint[] {
  let e = edgeCache.get(w);
  if (e) return e;
  const m = mask(w);
  const h = 1n << BigInt(w - 1);
  const set = new Set<bigint>([
    0n, 1n, 2n, 3n, 7n, m, m - 1n, h, h - 1n, h + 1n, h - 2n, m / 3n, (m / 3n) * 2n,
    0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn,
    0x100000000n, 0x0f0f0f0f0f0f0f0fn, 0x8000000000000000n, 0x7fffffffffffffffn,
  ].map((v) => v & m));
  e = [...set];
  edgeCache.set(w, e);
  return e;
}

const SHIFT_COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 127, 128, 255];

const CONDS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;
const COND_ALIASES: Record<string, string[]> = {
  b: ['c', 'nae'], ae: ['nc', 'nb'], e: ['z'], ne: ['nz'], be: ['na'], a: ['nbe'],
  p: ['pe'], np: ['po'], l: ['nge'], ge: ['nl'], le: ['ng'], g: ['nle'],
};

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const R8H = ['ah', 'ch', 'dh', 'bh'];
const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

export function regName(idx: number, w: number, high = false): string {
  if (high) return R8H[idx]!;
  switch (w) {
    case 8: return R8[idx]!;
    case 16: return R16[idx]!;
    case 32: return R32[idx]!;
    default: return R64[idx]!;
  }
}

const PTR: Record<number, string> = { 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword', 16: 'xmmword' };
const hex = (v: bigint | number): string => (BigInt(v) < 0n ? `-0x${(-BigInt(v)).toString(16)}` : `0x${BigInt(v).toString(16)}`);
const sdisp = (d: bigint): string => (d < 0n ? ` - ${hex(-d)}` : ` + ${hex(d)}`);

// float helpers
const f32buf = new DataView(new ArrayBuffer(8));
function f32bits(x: number): bigint {
  f32buf.setFloat32(0, x, true);
  return BigInt(f32buf.getUint32(0, true));
}
function f64bits(x: number): bigint {
  f32buf.setFloat64(0, x, true);
  return f32buf.getBigUint64(0, true);
}
const F32_EDGES = [
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0xbf000000, 0x3fc00000, 0x40200000, 0xc0200000,
  0x3effffff, 0x3f7fffff, 0x4b000000, 0x4b7fffff, 0x4b800000, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000,
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
  0x7fc12345, 0xffc54321, 0x7f800001, 0x7fa00000, 0xff812345, 0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001,
  0x5f000000, 0xdf000000, 0x5effffff, 0xdf000001, 0x4f800000, 0x5f800000, 0x3e800000, 0x40490fdb,
].map((v) => BigInt(v >>> 0));
const F64_EDGES = [
  0x0000000000000000n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x3fe0000000000000n,
  0x3ff8000000000000n, 0x4004000000000000n, 0xc004000000000000n, 0x3fdfffffffffffffn, 0x4330000000000000n,
  0x7fefffffffffffffn, 0xffefffffffffffffn, 0x0010000000000000n, 0x8010000000000000n, 0x0000000000000001n,
  0x800fffffffffffffn, 0x000fffffffffffffn, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n,
  0xfff8000000000000n, 0x7ff8000012345678n, 0x7ff0000000000001n, 0x7ff4000000000000n, 0xfff0000000abcdefn,
  0x41e0000000000000n, 0xc1e0000000000000n, 0x41dfffffffc00000n, 0xc1e0000000200000n, 0x41dfffffffffffffn,
  0xc1e00000001fffffn, 0x43e0000000000000n, 0xc3e0000000000000n, 0x43dfffffffffffffn, 0xc3e0000000000001n,
  0x41efffffffe00000n, 0x47efffffe0000000n, 0x47f0000000000000n, 0x3690000000000000n, 0x36a0000000000000n,
  0x380fffffffffffffn, 0x3810000000000000n, 0x400921fb54442d18n,
];

// ---------------------------------------------------------------------------
// Case builder

interface Reg {
  idx: number;
  w: number;
  high: boolean;
  name: string;
}

interface Mem {
  text: string; // e.g. "dword ptr [rbx + rsi*4 + 0x10]"
  addr: string; // e.g. "[rbx + rsi*4 + 0x10]"
  off: number; // offset of the effective address in the data page
}

interface MemOpts {
  align?: number; // required alignment of the effective address
  extent?: number; // bytes touched (default: size)
  off?: number; // fixed page offset
  rip?: boolean; // allow RIP-relative (default true)
}

type AddrMode = 'b' | 'bd8' | 'bd32' | 'bis' | 'bisd' | 'is' | 'rip' | 'abs' | 'a32' | 'rspd';

export class CaseBuilder {
  readonly lines: string[] = [];
  gpr: bigint[];
  rflags: bigint;
  xmm: bigint[];
  mxcsr = 0x1f80;
  page: Uint8Array;
  patches: Patch[] = [];
  undefFlags = 0n;
  undefGpr = 0;
  undefData: Array<[number, number]> = [];
  note: string | undefined;
  focus: number | undefined;
  /** no REX prefix may be used (set when AH..BH may be picked) */
  noRex = false;
  private readonly full = new Set<number>();
  private readonly slots = new Set<string>();
  private readonly xmmUsed = new Set<number>();

  constructor(readonly r: Rng, pages: Uint8Array[]) {
    this.gpr = [];
    for (let i = 0; i < 16; i++) this.gpr.push(r.chance(0.85) ? r.u64() : this.val(64));
    this.gpr[RSP] = DATA_ADDR + 0x800n;
    this.full.add(RSP);
    this.rflags = 0x2n | IF | (BigInt(r.u32()) & STATUS_FLAGS) | (r.chance(0.1) ? DF : 0n);
    this.xmm = [];
    for (let i = 0; i < 32; i++) this.xmm.push(r.u64());
    this.page = r.pick(pages);
  }

  emit(...lines: string[]): void {
    this.lines.push(...lines);
  }
  /** emit the instruction under test (used to group mismatches) */
  emitFocus(line: string): void {
    this.focus = this.lines.length;
    this.lines.push(line);
  }

  // --- values
  val(w: number): bigint {
    const r = this.r;
    const k = r.int(100);
    if (k < 35) return r.pick(edgeValues(w));
    if (k < 45) return BigInt(r.int(17)) & mask(w);
    if (k < 52) return U64(-BigInt(r.range(1, 17))) & mask(w);
    if (k < 70) return r.bits(r.range(1, w));
    return r.bits(w);
  }
  /** second operand: sometimes equal to / adjacent to the first */
  val2(w: number, a: bigint): bigint {
    const k = this.r.int(100);
    if (k < 8) return a;
    if (k < 12) return (a + 1n) & mask(w);
    if (k < 16) return (a - 1n) & mask(w);
    return this.val(w);
  }
  /** signed immediate that fits `bits` (8/16/32) */
  imm(bits: number): bigint {
    const v = sext(this.val(bits), bits);
    return v;
  }
  setFlags(bits: bigint): void {
    this.rflags = (this.rflags & ~STATUS_FLAGS) | (bits & STATUS_FLAGS);
  }

  // --- registers
  private slotFree(idx: number, high: boolean): boolean {
    return !this.full.has(idx) && !this.slots.has(high ? `${idx}h` : `${idx}`);
  }
  idxFree(idx: number): boolean {
    return !this.full.has(idx) && !this.slots.has(`${idx}`) && !this.slots.has(`${idx}h`);
  }
  /** reserve a whole register (optionally setting its value) */
  reserve(idx: number, value?: bigint): void {
    if (!this.idxFree(idx)) throw new Error(`generator: register ${R64[idx]} already in use`);
    this.full.add(idx);
    if (value !== undefined) this.gpr[idx] = U64(value);
  }
  release(idx: number): void {
    this.full.delete(idx);
  }
  /** a fixed register operand */
  fixed(idx: number, w: number, high = false): Reg {
    this.slots.add(high ? `${idx}h` : `${idx}`);
    return { idx, w, high, name: regName(idx, w, high) };
  }
  /** pick a free register operand of width w */
  reg(w: number, opts: { allowRsp?: boolean; prefer?: number; pool?: number[] } = {}): Reg {
    const cands: Array<[number, boolean]> = [];
    const pool = opts.pool ?? [...Array(16).keys()];
    for (const idx of pool) {
      if (idx === RSP && !opts.allowRsp) continue;
      if (this.noRex) {
        if (idx >= 8) continue;
        if (w === 8 && idx >= 4) continue;
      }
      const free = idx === RSP && opts.allowRsp ? !this.slots.has('4') : this.slotFree(idx, false);
      if (free) cands.push([idx, false]);
      if (this.noRex && w === 8 && idx < 4 && this.slotFree(idx, true)) cands.push([idx, true]);
    }
    if (cands.length === 0) throw new Error('generator: out of registers');
    let pickd = this.r.pick(cands);
    if (opts.prefer !== undefined && this.r.chance(0.35)) {
      const p = cands.find(([i, h]) => i === opts.prefer && !h);
      if (p) pickd = p;
    }
    const [idx, high] = pickd;
    this.slots.add(high ? `${idx}h` : `${idx}`);
    return { idx, w, high, name: regName(idx, w, high) };
  }
  setReg(reg: Reg, v: bigint): void {
    const shift = reg.high ? 8n : 0n;
    const m = mask(reg.w) << shift;
    this.gpr[reg.idx] = (this.gpr[reg.idx]! & ~m) | ((v << shift) & m);
  }

  // --- xmm registers
  xreg(): number {
    const free = [...Array(16).keys()].filter((i) => !this.xmmUsed.has(i) && !(this.noRex && i >= 8));
    const i = this.r.pick(free);
    this.xmmUsed.add(i);
    return i;
  }
  setXmm(i: number, lo: bigint, hi: bigint): void {
    this.xmm[2 * i] = U64(lo);
    this.xmm[2 * i + 1] = U64(hi);
  }
  setXmmLow(i: number, v: bigint, w: number): void {
    this.xmm[2 * i] = (this.xmm[2 * i]! & ~mask(w)) | (v & mask(w));
  }

  // --- memory
  poke(off: number, v: bigint, size: number): void {
    const b = new Uint8Array(size);
    let x = U64(v);
    for (let i = 0; i < size; i++) {
      b[i] = Number(x & 0xffn);
      x >>= 8n;
      if (i === 7) x = U64(v >> 64n);
    }
    this.pokeBytes(off, b);
  }
  pokeBytes(off: number, bytes: Uint8Array): void {
    if (off < 0 || off + bytes.length > PAGE_SIZE) throw new Error(`generator: poke out of page (${off})`);
    this.patches.push({ off, bytes });
  }

  /** choose a page offset for an access of `extent` bytes */
  chooseOff(extent: number, align = 1): number {
    const r = this.r;
    const max = PAGE_SIZE - extent;
    let off: number;
    const k = r.int(100);
    if (k < 8) off = max - r.int(Math.min(16, max + 1));
    else if (k < 12) off = r.int(16);
    else off = r.int(max + 1);
    if (align > 1) off &= ~(align - 1);
    else if (r.chance(0.5)) off &= ~(Math.min(extent, 8) - 1);
    return Math.max(0, Math.min(off, max));
  }

  /**
   * Memory operand of `size` bytes whose effective address lies in the data
   * page. Chooses a random addressing form and sets the registers it uses.
   */
  mem(size: number, opts: MemOpts = {}): Mem {
    const extent = opts.extent ?? size;
    const off = opts.off ?? this.chooseOff(extent, opts.align ?? 1);
    const addr = this.address(DATA_ADDR + BigInt(off), opts.rip ?? true);
    const ptr = PTR[size];
    return { text: ptr ? `${ptr} ptr ${addr}` : addr, addr, off };
  }

  private baseReg(): number | null {
    const pool = [...Array(this.noRex ? 8 : 16).keys()].filter((i) => i !== RSP && this.idxFree(i));
    if (pool.length === 0) return null;
    const i = this.r.pick(pool);
    this.full.add(i);
    return i;
  }

  /** address expression; if ea is null, any address (for LEA) */
  address(ea: bigint | null, rip = true): string {
    const r = this.r;
    const modes: AddrMode[] = ['b', 'b', 'bd8', 'bd8', 'bd32', 'bis', 'bisd', 'bisd', 'is', 'abs', 'a32', 'a32'];
    if (rip) modes.push('rip', 'rip');
    const rspv = this.gpr[RSP]!;
    const rspOk = this.full.has(RSP) && ea !== null && rspv >= DATA_ADDR && rspv < DATA_ADDR + 4096n;
    if (rspOk) modes.push('rspd');
    for (let tries = 0; tries < 20; tries++) {
      const mode = r.pick(modes);
      const target = ea ?? (r.chance(0.5) ? r.u64() : BigInt(r.u32()));
      switch (mode) {
        case 'b': {
          const b = this.baseReg();
          if (b === null) continue;
          this.gpr[b] = target;
          return `[${R64[b]}]`;
        }
        case 'bd8':
        case 'bd32': {
          const b = this.baseReg();
          if (b === null) continue;
          const d = mode === 'bd8' ? BigInt(r.range(-128, 127)) : BigInt(r.u32() | 0);
          this.gpr[b] = U64(target - d);
          return `[${R64[b]}${sdisp(d)}]`;
        }
        case 'bis':
        case 'bisd': {
          const b = this.baseReg();
          if (b === null) continue;
          const i = this.baseReg();
          if (i === null) {
            this.full.delete(b);
            continue;
          }
          const s = r.pick([1, 2, 4, 8]);
          const iv = r.chance(0.5) ? BigInt(r.range(-300, 300)) : r.u64();
          const d = mode === 'bisd' ? (r.chance(0.6) ? BigInt(r.range(-128, 127)) : BigInt(r.u32() | 0)) : 0n;
          this.gpr[i] = U64(iv);
          this.gpr[b] = U64(target - iv * BigInt(s) - d);
          return `[${R64[b]} + ${R64[i]}*${s}${d !== 0n ? sdisp(d) : ''}]`;
        }
        case 'is': {
          const i = this.baseReg();
          if (i === null) continue;
          const s = r.pick([1, 2, 4, 8]);
          if (ea === null) {
            const d = BigInt(r.u32() | 0);
            return `[${R64[i]}*${s}${sdisp(d)}]`;
          }
          const iv = BigInt(r.range(-2000, 2000));
          this.gpr[i] = U64(iv);
          const d = target - iv * BigInt(s);
          return `[${R64[i]}*${s} + ${hex(d)}]`;
        }
        case 'rip': {
          const t = ea ?? BigInt(r.range(0, 0x3fffffff));
          return `[rip + ${SNIPPET_BASE} + ${hex(t)}]`;
        }
        case 'abs': {
          const t = ea ?? BigInt(r.range(0, 0x7fffffff));
          return `[${hex(t)}]`;
        }
        case 'a32': {
          const b = this.baseReg();
          if (b === null) continue;
          const useIndex = r.chance(0.6);
          const i = useIndex ? this.baseReg() : null;
          const s = r.pick([1, 2, 4, 8]);
          const iv = BigInt(r.range(0, 500));
          const d = r.chance(0.5) ? BigInt(r.range(-128, 127)) : 0n;
          const hi = (r.u64() >> 32n) << 32n;
          let bv = target - d;
          if (i !== null) {
            this.gpr[i] = hi ^ ((r.u64() >> 32n) << 32n) ^ iv;
            bv -= iv * BigInt(s);
          }
          this.gpr[b] = hi | (bv & 0xffffffffn);
          const e32 = (n: number): string => R32[n]!;
          return `[${e32(b)}${i !== null ? ` + ${e32(i)}*${s}` : ''}${d !== 0n ? sdisp(d) : ''}]`;
        }
        case 'rspd': {
          const d = target - rspv;
          return d === 0n && r.chance(0.5) ? '[rsp]' : `[rsp${sdisp(d)}]`;
        }
      }
    }
    throw new Error('generator: could not build an address');
  }

  build(id: number, group: string): Case {
    const c: Case = {
      id,
      group,
      asm: this.lines.join('\n'),
      gpr: this.gpr.map(U64),
      rflags: this.rflags,
      xmm: this.xmm.map(U64),
      mxcsr: this.mxcsr,
      page: this.page,
      patches: this.patches,
      undefFlags: this.undefFlags,
      undefGpr: this.undefGpr,
      undefData: this.undefData,
    };
    if (this.note) c.note = this.note;
    if (this.focus) c.focus = this.focus;
    return c;
  }
}

// ---------------------------------------------------------------------------
// Group generators

type GenFn = (c: CaseBuilder, i: number) => void;
interface Group {
  name: string;
  /** number of cases at the default total (scaled with JINX_DIFF_CASES) */
  base: number;
  gen: GenFn;
  /** fixed number of cases (enumerations), not scaled */
  fixed?: number;
}

const W4 = [8, 16, 32, 64];
const W3 = [16, 32, 64];

function dest(c: CaseBuilder, w: number, memP: number, opts: { allowRsp?: boolean; prefer?: number } = {}): { text: string; reg?: Reg; mem?: Mem } {
  if (c.r.chance(memP)) {
    const m = c.mem(w / 8);
    return { text: m.text, mem: m };
  }
  const reg = c.reg(w, opts);
  return { text: reg.name, reg };
}

function setOperand(c: CaseBuilder, op: { reg?: Reg; mem?: Mem }, w: number, v: bigint): void {
  if (op.reg) c.setReg(op.reg, v);
  else if (op.mem) c.poke(op.mem.off, v, w / 8);
}

function maybeNoRex(c: CaseBuilder, w: number): void {
  if (w === 8) c.noRex = c.r.chance(0.4);
}

function lockP(c: CaseBuilder, isMem: boolean, p = 0.25): string {
  return isMem && c.r.chance(p) ? 'lock ' : '';
}

function alu(op: string): GenFn {
  const logic = op === 'and' || op === 'or' || op === 'xor' || op === 'test';
  const writes = op !== 'cmp' && op !== 'test';
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    if (logic) c.undefFlags |= AF;
    const form = r.pick(op === 'test' ? ['rr', 'rr', 'mr', 'ri', 'mi'] : ['rr', 'rr', 'rm', 'mr', 'ri', 'mi']);
    const a = c.val(w);
    const b = c.val2(w, a);
    switch (form) {
      case 'rr': {
        const d = c.reg(w, { allowRsp: w === 64 && r.chance(0.05) });
        const s = r.chance(0.08) ? d : c.reg(w);
        c.setReg(d, a);
        if (s !== d) c.setReg(s, b);
        const enc = op !== 'test' && r.chance(0.4) ? r.pick(['{load} ', '{store} ']) : '';
        c.emit(`${enc}${op} ${d.name}, ${s.name}`);
        break;
      }
      case 'rm': {
        const d = c.reg(w);
        const m = c.mem(w / 8);
        c.setReg(d, a);
        c.poke(m.off, b, w / 8);
        c.emit(`${op} ${d.name}, ${m.text}`);
        break;
      }
      case 'mr': {
        const m = c.mem(w / 8);
        const s = c.reg(w);
        c.poke(m.off, a, w / 8);
        c.setReg(s, b);
        c.emit(`${writes ? lockP(c, true) : ''}${op} ${m.text}, ${s.name}`);
        break;
      }
      case 'ri': {
        const d = c.reg(w, { prefer: RAX });
        c.setReg(d, a);
        const imm = w === 8 ? c.imm(8) : r.chance(0.5) ? c.imm(8) : c.imm(w === 16 ? 16 : 32);
        c.emit(`${op} ${d.name}, ${imm}`);
        break;
      }
      case 'mi': {
        const m = c.mem(w / 8);
        c.poke(m.off, a, w / 8);
        const imm = w === 8 ? c.imm(8) : r.chance(0.5) ? c.imm(8) : c.imm(w === 16 ? 16 : 32);
        c.emit(`${writes ? lockP(c, true) : ''}${op} ${m.text}, ${imm}`);
        break;
      }
    }
  };
}

function unary(op: string): GenFn {
  return (c, i) => {
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    const d = dest(c, w, 0.35, { allowRsp: w === 64 && c.r.chance(0.03) });
    setOperand(c, d, w, c.val(w));
    c.emit(`${lockP(c, !!d.mem)}${op} ${d.text}`);
  };
}

function shiftUndef(op: string, w: number, count: number): bigint {
  const m = count & (w === 64 ? 63 : 31);
  if (m === 0) return 0n;
  let u = 0n;
  if (op === 'shl' || op === 'sal' || op === 'shr' || op === 'sar') {
    u |= AF;
    if (m !== 1) u |= OF;
    if (op !== 'sar' && m >= w) u |= CF;
  } else if (m !== 1) {
    u |= OF;
  }
  return u;
}

const SHIFT_EXT: Record<string, number> = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, sal: 4, shr: 5, sar: 7 };

function shift(op: string): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    const kind = r.pick(['1', 'cl', 'cl', 'imm', 'imm']);
    let count = kind === '1' ? 1 : r.chance(0.8) ? r.pick(SHIFT_COUNTS) : r.int(256);
    if (kind === 'cl') {
      c.reserve(RCX, (r.u64() & ~0xffn) | BigInt(count));
    }
    maybeNoRex(c, w);
    const d = dest(c, w, 0.3);
    setOperand(c, d, w, c.val(w));
    const mnem = op === 'shl' && r.chance(0.2) ? 'sal' : op;
    if (kind === 'imm' && count === 1 && d.reg && r.chance(0.5)) {
      // force the C1 /n ib encoding with count 1 (as would pick D1)
      const bytes: number[] = [];
      if (w === 16) bytes.push(0x66);
      const rex = (w === 64 ? 8 : 0) | (d.reg.idx >= 8 ? 1 : 0);
      if (rex || (w === 8 && d.reg.idx >= 4 && !d.reg.high)) bytes.push(0x40 | rex);
      bytes.push(w === 8 ? 0xc0 : 0xc1, 0xc0 | (SHIFT_EXT[op]! << 3) | ((d.reg.high ? d.reg.idx + 4 : d.reg.idx) & 7), 1);
      c.emit(`.byte ${bytes.map((b) => hex(b)).join(', ')}  # ${mnem} ${d.text}, 1 (C1 form)`);
    } else {
      c.emit(`${mnem} ${d.text}, ${kind === '1' ? '1' : kind === 'cl' ? 'cl' : String(count)}`);
    }
    if (kind === '1') count = 1;
    c.undefFlags |= shiftUndef(op, w, count);
  };
}

function shiftDouble(op: 'shld' | 'shrd'): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W3[i % 3]!;
    const useCl = r.chance(0.5);
    const count = r.chance(0.8) ? r.pick(SHIFT_COUNTS) : r.int(256);
    if (useCl) c.reserve(RCX, (r.u64() & ~0xffn) | BigInt(count));
    const d = dest(c, w, 0.3);
    const s = c.reg(w);
    setOperand(c, d, w, c.val(w));
    c.setReg(s, c.val(w));
    c.emit(`${op} ${d.text}, ${s.name}, ${useCl ? 'cl' : String(count)}`);
    const m = count & (w === 64 ? 63 : 31);
    if (m === 0) return;
    if (m > w) {
      c.undefFlags |= STATUS_FLAGS;
      if (d.reg) c.undefGpr |= 1 << d.reg.idx;
      if (d.mem) c.undefData.push([d.mem.off, w / 8]);
      c.note = 'count > operand size: result undefined';
    } else {
      c.undefFlags |= AF | (m !== 1 ? OF : 0n);
    }
  };
}

function mulLike(op: 'mul' | 'imul1'): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    c.undefFlags |= SF | ZF | AF | PF;
    const special = r.chance(0.08);
    c.reserve(RAX);
    if (w > 8) c.reserve(RDX);
    c.gpr[RAX] = (c.gpr[RAX]! & ~mask(w)) | c.val(w);
    let src: string;
    if (special) {
      c.release(RAX);
      if (w > 8) c.release(RDX);
      src = regName(w > 8 && r.chance(0.5) ? RDX : RAX, w, w === 8 && c.noRex && r.chance(0.5));
    } else {
      const s = dest(c, w, 0.35);
      setOperand(c, s, w, c.val(w));
      src = s.text;
    }
    c.emit(`${op === 'mul' ? 'mul' : 'imul'} ${src}`);
  };
}

function imul(): GenFn {
  const one = mulLike('imul1');
  return (c, i) => {
    const r = c.r;
    const form = i % 3;
    if (form === 0) return one(c, i >> 1);
    const w = W3[(i >> 2) % 3]!;
    c.undefFlags |= SF | ZF | AF | PF;
    const d = c.reg(w);
    c.setReg(d, c.val(w));
    const s = dest(c, w, 0.35);
    if (s.reg && r.chance(0.1)) {
      s.reg = d;
      s.text = d.name;
    }
    setOperand(c, s, w, c.val(w));
    if (form === 1) c.emit(`imul ${d.name}, ${s.text}`);
    else c.emit(`imul ${d.name}, ${s.text}, ${r.chance(0.5) ? c.imm(8) : c.imm(w === 16 ? 16 : 32)}`);
  };
}

function divLike(op: 'div' | 'idiv'): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    c.undefFlags |= STATUS_FLAGS;
    const signed = op === 'idiv';
    const W = BigInt(w);
    const m = mask(w);
    const scenario = r.int(100);
    let divisor: bigint;
    let dividend: bigint; // 2w-bit, unsigned representation
    if (scenario < 8) {
      divisor = 0n;
      dividend = r.bits(2 * w);
      c.note = 'divide by zero';
    } else if (scenario < 18) {
      // quotient overflow
      if (signed && r.chance(0.4)) {
        divisor = m; // -1
        dividend = (mask(2 * w) << (W - 1n)) & mask(2 * w); // most negative w-bit value, sign-extended
      } else if (signed) {
        divisor = BigInt(r.range(1, 100));
        if (r.chance(0.5)) divisor = (-divisor) & m;
        dividend = BigInt.asUintN(2 * w, BigInt.asIntN(w, divisor) * (1n << (W - 1n)) * BigInt(r.range(1, 4)) + BigInt(r.range(0, 3)));
      } else {
        divisor = r.chance(0.5) ? BigInt(r.range(1, 255)) & m : c.val(w) | 1n;
        const hi = divisor + (r.bits(w) % (m - divisor + 1n));
        dividend = (hi << W) | r.bits(w);
      }
      c.note = 'quotient overflow';
    } else if (!signed) {
      divisor = c.val(w);
      if (divisor === 0n) divisor = 1n;
      const q = r.chance(0.5) ? c.val(w) : r.bits(r.range(1, w));
      const rem = r.bits(w) % divisor;
      dividend = q * divisor + rem;
    } else {
      let d = sext(c.val(w), w);
      if (d === 0n) d = -1n;
      const q = sext(r.chance(0.5) ? c.val(w) : r.bits(r.range(1, w)), w);
      const ad = d < 0n ? -d : d;
      let rem = r.bits(w) % ad;
      const prod = q * d;
      if (prod < 0n || (prod === 0n && r.chance(0.5))) rem = -rem;
      const n = prod + rem;
      // check representability (quotient already in range by construction)
      divisor = d & m;
      dividend = BigInt.asUintN(2 * w, n);
    }
    c.reserve(RAX);
    if (w > 8) c.reserve(RDX);
    if (w === 8) {
      c.gpr[RAX] = (c.gpr[RAX]! & ~0xffffn) | (dividend & 0xffffn);
    } else {
      c.gpr[RAX] = (c.gpr[RAX]! & ~m) | (dividend & m);
      c.gpr[RDX] = (c.gpr[RDX]! & ~m) | ((dividend >> W) & m);
    }
    const s = dest(c, w, 0.35);
    setOperand(c, s, w, divisor);
    c.emit(`${op} ${s.text}`);
  };
}

function btGroup(op: string): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W3[i % 3]!;
    // current Intel SDM: ZF unaffected; AMD APM and older Intel SDMs: ZF undefined
    c.undefFlags |= OF | SF | ZF | AF | PF;
    const form = r.pick(['rr', 'ri', 'mi', 'mr', 'mr']);
    const lockable = op !== 'bt';
    switch (form) {
      case 'rr': {
        const d = c.reg(w);
        const s = r.chance(0.05) ? d : c.reg(w);
        c.setReg(d, c.val(w));
        if (s !== d) c.setReg(s, r.chance(0.5) ? BigInt(r.int(w)) : c.val(w));
        c.emit(`${op} ${d.name}, ${s.name}`);
        break;
      }
      case 'ri': {
        const d = c.reg(w);
        c.setReg(d, c.val(w));
        c.emit(`${op} ${d.name}, ${r.chance(0.7) ? r.int(w) : r.int(256)}`);
        break;
      }
      case 'mi': {
        const m = c.mem(w / 8);
        c.emit(`${lockable ? lockP(c, true) : ''}${op} ${m.text}, ${r.chance(0.7) ? r.int(w) : r.int(256)}`);
        break;
      }
      case 'mr': {
        // register bit offset: signed, may address far outside the operand
        const base = r.range(0x100, 0xf00);
        const m = c.mem(w / 8, { off: base });
        const s = c.reg(w);
        let bitoff: number;
        const k = r.int(100);
        if (k < 30) bitoff = r.int(w);
        else if (k < 50) bitoff = -r.range(1, 64);
        else bitoff = r.range(-(base - 16) * 8, (PAGE_SIZE - base - 16) * 8);
        c.setReg(s, BigInt.asUintN(w, BigInt(bitoff)));
        c.emit(`${lockable ? lockP(c, true) : ''}${op} ${m.text}, ${s.name}`);
        break;
      }
    }
  };
}

function bitScan(op: string): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W3[i % 3]!;
    if (op === 'bsf' || op === 'bsr') c.undefFlags |= CF | OF | SF | AF | PF;
    else if (op === 'tzcnt' || op === 'lzcnt') c.undefFlags |= OF | SF | AF | PF;
    const d = c.reg(w);
    const s = dest(c, w, 0.35);
    const k = r.int(100);
    const v = k < 20 ? 0n : k < 40 ? 1n << BigInt(r.int(w)) : c.val(w);
    setOperand(c, s, w, v);
    c.emit(`${op} ${d.name}, ${s.text}`);
    if (v === 0n) {
      c.note = 'zero source';
      if ((op === 'bsf' || op === 'bsr') && w === 32) {
        // destination undefined (Intel); AMD keeps all 64 bits, Intel clears bits 63:32
        c.undefGpr |= 1 << d.idx;
        c.note = 'zero source, 32-bit: destination vendor-specific (not compared)';
      }
    }
  };
}

function movGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    const form = r.pick(['rr', 'rr', 'rm', 'rm', 'mr', 'mr', 'ri', 'mi', 'moffs']);
    switch (form) {
      case 'rr': {
        const d = c.reg(w, { allowRsp: w === 64 && r.chance(0.05) });
        const s = r.chance(0.05) ? d : c.reg(w);
        c.setReg(s, c.val(w));
        c.emit(`${r.chance(0.4) ? r.pick(['{load} ', '{store} ']) : ''}mov ${d.name}, ${s.name}`);
        break;
      }
      case 'rm': {
        const d = c.reg(w);
        const m = c.mem(w / 8);
        c.emit(`mov ${d.name}, ${m.text}`);
        break;
      }
      case 'mr': {
        const s = c.reg(w);
        const m = c.mem(w / 8);
        c.emit(`mov ${m.text}, ${s.name}`);
        break;
      }
      case 'ri': {
        const d = c.reg(w);
        if (w === 64 && r.chance(0.5)) c.emit(`movabs ${d.name}, ${hex(c.val(64))}`);
        else c.emit(`mov ${d.name}, ${w === 64 ? c.imm(32) : hex(c.val(w))}`);
        break;
      }
      case 'mi': {
        const m = c.mem(w / 8);
        c.emit(`mov ${m.text}, ${w === 64 ? c.imm(32) : hex(c.val(w))}`);
        break;
      }
      case 'moffs': {
        c.noRex = false;
        const a = c.fixed(RAX, w);
        const off = c.chooseOff(w / 8);
        const abs = hex(DATA_ADDR + BigInt(off));
        if (r.chance(0.5)) c.emit(`movabs ${a.name}, ${PTR[w / 8]} ptr [${abs}]`);
        else c.emit(`movabs ${PTR[w / 8]} ptr [${abs}], ${a.name}`);
        break;
      }
    }
  };
}

function movExt(op: 'movzx' | 'movsx' | 'movsxd'): GenFn {
  return (c, i) => {
    const r = c.r;
    let dw: number;
    let sw: number;
    if (op === 'movsxd') {
      dw = r.chance(0.9) ? 64 : 32;
      sw = 32;
    } else {
      const combos: Array<[number, number]> = [[16, 8], [32, 8], [64, 8], [32, 16], [64, 16]];
      [dw, sw] = combos[i % combos.length]!;
      if (sw === 8 && dw !== 64) c.noRex = r.chance(0.4);
    }
    const d = c.reg(dw);
    const s = dest(c, sw, 0.4);
    if (s.reg && r.chance(0.08) && !(c.noRex && sw === 8)) {
      // same register as source and destination
      s.reg = { idx: d.idx, w: sw, high: false, name: regName(d.idx, sw) };
      s.text = s.reg.name;
    }
    setOperand(c, s, sw, c.val(sw));
    c.emit(`${op} ${d.name}, ${s.text}`);
  };
}

function leaGroup(): GenFn {
  return (c, i) => {
    const w = W3[i % 3]!;
    const d = c.reg(w);
    const ea = c.r.chance(0.3) ? DATA_ADDR + BigInt(c.r.int(4096)) : null;
    c.emit(`lea ${d.name}, ${c.address(ea)}`);
  };
}

function stackSetup(c: CaseBuilder): void {
  const r = c.r;
  let sp = 0x800 + r.range(-32, 32) * 8;
  if (r.chance(0.1)) sp += r.range(1, 7);
  c.gpr[RSP] = DATA_ADDR + BigInt(sp);
}

function pushGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    stackSetup(c);
    const form = i % 9;
    switch (form) {
      case 0: case 1: {
        const s = c.reg(64);
        c.emit(`push ${s.name}`);
        break;
      }
      case 2: {
        const s = c.reg(16);
        c.emit(`push ${s.name}`);
        break;
      }
      case 3: {
        const m = c.mem(r.chance(0.8) ? 8 : 2);
        c.emit(`push ${m.text}`);
        break;
      }
      case 4: c.emit(`push ${c.imm(8)}`); break;
      case 5: c.emit(`push ${c.imm(32)}`); break;
      case 6: c.emit(`pushw ${hex(c.val(16))}`); break;
      case 7: c.emit(r.pick(['push rsp', 'push sp', 'push qword ptr [rsp]', 'push qword ptr [rsp + 8]', 'push qword ptr [rsp - 8]'])); break;
      case 8: {
        const a = c.reg(64);
        const b = c.reg(64);
        c.emit(`push ${a.name}`, `push ${b.name}`, `push ${c.imm(8)}`);
        break;
      }
    }
  };
}

function popGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    stackSetup(c);
    const form = i % 7;
    switch (form) {
      case 0: case 1: c.emit(`pop ${c.reg(64).name}`); break;
      case 2: c.emit(`pop ${c.reg(16).name}`); break;
      case 3: {
        // extent + 8: with an rsp-based address the EA is computed after the pop
        const sz = r.chance(0.8) ? 8 : 2;
        c.emit(`pop ${c.mem(sz, { extent: sz + 8 }).text}`);
        break;
      }
      case 4: c.emit(r.pick(['pop rsp', 'pop sp', 'pop qword ptr [rsp]', 'pop qword ptr [rsp + 8]', 'pop qword ptr [rsp - 8]', 'pop word ptr [rsp]'])); break;
      case 5: {
        const a = c.reg(64);
        c.emit(`push ${a.name}`, `pop ${c.reg(64).name}`);
        break;
      }
      case 6: {
        const a = c.reg(64);
        const b = c.reg(64);
        c.emit(`pop ${a.name}`, `pop ${b.name}`, `pop ${r.chance(0.5) ? a.name : c.reg(16).name}`);
        break;
      }
    }
  };
}

function xchgGroup(): GenFn {
  const raw = ['.byte 0x90', '.byte 0x41, 0x90', '.byte 0x48, 0x90', '.byte 0x49, 0x90', '.byte 0x66, 0x90', '.byte 0x87, 0xc0',
    '.byte 0x48, 0x87, 0xc0', '.byte 0x66, 0x87, 0xc0', '.byte 0x86, 0xc0', '.byte 0x86, 0xe0', '.byte 0x66, 0x41, 0x90'];
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    const form = r.int(10);
    if (form < 4) {
      const a = c.reg(w, { prefer: RAX });
      const b = r.chance(0.08) ? a : c.reg(w);
      c.emit(`xchg ${a.name}, ${b.name}`);
    } else if (form < 8) {
      const a = c.reg(w);
      const m = c.mem(w / 8);
      c.emit(r.chance(0.5) ? `xchg ${a.name}, ${m.text}` : `${lockP(c, true, 0.2)}xchg ${m.text}, ${a.name}`);
    } else {
      c.emit(r.pick(raw));
    }
  };
}

function condName(c: CaseBuilder, i: number): string {
  const cc = CONDS[i % 16]!;
  const al = COND_ALIASES[cc];
  return al && c.r.chance(0.3) ? c.r.pick(al) : cc;
}

function setccGroup(): GenFn {
  return (c, i) => {
    c.setFlags(BigInt(c.r.u32()));
    c.noRex = c.r.chance(0.4);
    const d = dest(c, 8, 0.3);
    c.emit(`set${condName(c, i)} ${d.text}`);
  };
}

function cmovGroup(): GenFn {
  return (c, i) => {
    c.setFlags(BigInt(c.r.u32()));
    const w = W3[(i >> 4) % 3]!;
    const d = c.reg(w);
    const s = dest(c, w, 0.35);
    c.emit(`cmov${condName(c, i)} ${d.name}, ${s.text}`);
  };
}

function jccGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    c.setFlags(BigInt(r.u32()));
    const cc = condName(c, i);
    const form = r.int(3);
    if (form === 0) c.emit(`j${cc} 1f`, 'mov eax, 1', '1:');
    else if (form === 1) c.emit(`j${cc} 1f`, 'mov eax, 1', '.fill 130, 1, 0x90', 'mov ecx, 2', '1:');
    else {
      c.emit('jmp 2f', '1: mov eax, 2', 'jmp 3f');
      c.emitFocus(`2: j${cc} 1b`);
      c.emit('mov eax, 1', '3:');
    }
  };
}

function xaddGroup(): GenFn {
  return (c, i) => {
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    const d = dest(c, w, 0.4);
    const s = d.reg && c.r.chance(0.06) ? d.reg : c.reg(w);
    setOperand(c, d, w, c.val(w));
    if (s !== d.reg) c.setReg(s, c.val(w));
    c.emit(`${lockP(c, !!d.mem)}xadd ${d.text}, ${s.name}`);
  };
}

function cmpxchgGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    const w = W4[i % 4]!;
    maybeNoRex(c, w);
    c.reserve(RAX);
    const d = dest(c, w, 0.4);
    const s = c.reg(w);
    const dv = c.val(w);
    setOperand(c, d, w, dv);
    c.setReg(s, c.val(w));
    const acc = r.chance(0.5) ? dv : c.val2(w, dv);
    c.gpr[RAX] = (c.gpr[RAX]! & ~mask(w)) | acc;
    let dt = d.text;
    if (d.reg && r.chance(0.08)) dt = regName(RAX, w);
    c.emit(`${lockP(c, !!d.mem)}cmpxchg ${dt}, ${s.name}`);
  };
}

function cmpxchgWide(bytes: 8 | 16): GenFn {
  return (c) => {
    const r = c.r;
    for (const x of [RAX, RDX, RBX, RCX]) c.reserve(x);
    const misaligned = bytes === 16 && r.chance(0.1);
    let off = c.chooseOff(bytes, bytes === 16 ? 16 : r.chance(0.8) ? 8 : 1);
    if (misaligned) off = Math.min(off + r.pick([1, 4, 8]), PAGE_SIZE - 16);
    const m = c.mem(bytes, { off });
    const hw = bytes * 4; // bits per half
    const lo = r.bits(hw);
    const hi = r.bits(hw);
    c.poke(m.off, lo, bytes / 2);
    c.poke(m.off + bytes / 2, hi, bytes / 2);
    const eq = r.chance(0.5);
    const hm = mask(hw);
    const setHalf = (idx: number, v: bigint): void => {
      c.gpr[idx] = (c.gpr[idx]! & ~hm) | (v & hm);
    };
    setHalf(RAX, eq ? lo : r.chance(0.5) ? lo : r.bits(hw));
    setHalf(RDX, eq ? hi : r.bits(hw));
    if (misaligned) c.note = 'misaligned cmpxchg16b: #GP';
    c.emit(`${r.chance(0.3) ? 'lock ' : ''}cmpxchg${bytes}b ${bytes === 16 ? 'xmmword' : 'qword'} ptr ${m.addr}`);
  };
}

function bswapGroup(): GenFn {
  return (c, i) => {
    const w = i % 2 ? 64 : 32;
    c.emit(`bswap ${c.reg(w).name}`);
  };
}

// string instructions
const STR_SUFFIX: Record<number, string> = { 1: 'b', 2: 'w', 4: 'd', 8: 'q' };
function stringGroup(op: 'movs' | 'stos' | 'lods' | 'scas' | 'cmps'): GenFn {
  const usesSrc = op === 'movs' || op === 'lods' || op === 'cmps';
  const usesDst = op !== 'lods';
  const cmpLike = op === 'scas' || op === 'cmps';
  return (c, i) => {
    const r = c.r;
    const size = [1, 2, 4, 8][i % 4]!;
    const df = r.chance(0.5);
    c.rflags = (c.rflags & ~DF) | (df ? DF : 0n);
    const prefixes = cmpLike ? ['', 'repe ', 'repne ', 'repe ', 'repne '] : ['', 'rep ', 'rep '];
    const prefix = r.pick(prefixes);
    const a32 = r.chance(0.2);
    const n = prefix ? r.pick([0, 1, 2, 3, 4, 5, 7, 8, 13, 16]) : 1;
    const iter = Math.max(n, 1);
    const span = iter * size;
    const pickStart = (): number => {
      const lo = df ? span - size : 0;
      const hi = df ? PAGE_SIZE - size : PAGE_SIZE - span;
      let o = r.range(lo, hi);
      if (r.chance(0.6)) o -= o % size;
      return Math.max(lo, o);
    };
    const garbage = (): bigint => (a32 ? (r.u64() >> 32n) << 32n : 0n);
    c.reserve(RCX, prefix ? garbage() | BigInt(n) : r.u64());
    const src = pickStart();
    const dst = pickStart();
    if (usesSrc) c.reserve(RSI, garbage() | (DATA_ADDR + BigInt(src)));
    if (usesDst) c.reserve(RDI, garbage() | (DATA_ADDR + BigInt(dst)));
    const acc = (r.u64() & ~mask(size * 8));
    c.reserve(RAX, acc | (r.u64() & mask(size * 8)));
    if (cmpLike) {
      // make elements mostly equal so that REPE/REPNE terminate at interesting points
      const elemOff = (base: number, k: number): number => (df ? base - k * size : base + k * size);
      const v = r.bits(size * 8);
      const stop = r.int(iter + 1);
      for (let k = 0; k < iter; k++) {
        let e = r.chance(0.7) ? v : r.bits(size * 8);
        if (prefix === 'repe ') e = k === stop ? v ^ 1n : v;
        if (prefix === 'repne ') e = k === stop ? v : v ^ BigInt(1 + r.int(3));
        if (op === 'cmps') {
          c.poke(elemOff(src, k), v, size);
          c.poke(elemOff(dst, k), e, size);
        } else {
          c.poke(elemOff(dst, k), e, size);
        }
      }
      if (op === 'scas') c.gpr[RAX] = acc | v;
    }
    const mnem = `${op}${STR_SUFFIX[size]}`;
    c.emit(`${a32 ? 'addr32 ' : ''}${prefix}${mnem}`);
  };
}

function convertGroup(): GenFn {
  const ops = ['cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo'];
  return (c, i) => {
    const w = [16, 32, 64, 16, 32, 64][i % 6]!;
    c.gpr[RAX] = (c.r.u64() & ~mask(w)) | c.val(w);
    c.emit(ops[i % 6]!);
  };
}

function flagOpsGroup(): GenFn {
  const ops = ['clc', 'stc', 'cmc', 'cld', 'std', 'lahf', 'sahf'];
  return (c, i) => {
    const r = c.r;
    c.rflags = (c.rflags & ~DF) | (r.chance(0.5) ? DF : 0n);
    if (r.chance(0.3)) c.gpr[RAX] = (c.gpr[RAX]! & ~0xff00n) | (BigInt(r.pick([0, 0xff, 0xd5, 0x2a, 0x02, 0x28])) << 8n);
    if (i < ops.length * 8) c.emit(ops[i % ops.length]!);
    else c.emit(...Array.from({ length: r.range(2, 4) }, () => r.pick(ops)));
  };
}

function pushfPopfGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    stackSetup(c);
    const form = i % 4;
    const sp = Number(c.gpr[RSP]! - DATA_ADDR);
    // value to pop: status flags + DF, IF=1 (user mode cannot change IF), some reserved bits
    let v = (BigInt(r.u32()) & (STATUS_FLAGS | DF)) | IF | 2n;
    if (r.chance(0.3)) v |= BigInt(r.pick([0x8, 0x20, 0x8000, 0x400000, 0x800000])) | (r.chance(0.3) ? 0xffffffff00000000n : 0n);
    if (r.chance(0.1)) v &= ~2n;
    switch (form) {
      case 0: c.emit(r.pick(['pushfq', 'pushf'])); break;
      case 1: c.emit('pushfw'); break;
      case 2:
        c.poke(sp, v, 8);
        c.emit('popfq', r.chance(0.5) ? 'pushfq' : 'nop');
        break;
      case 3:
        c.poke(sp, v & 0xffffn, 2);
        c.emit('popfw', r.chance(0.5) ? 'pushfw' : 'pushfq');
        break;
    }
  };
}

function nopGroup(): GenFn {
  const forms = [
    'nop', '.byte 0x66, 0x90', 'pause', 'nop dword ptr [rax]', 'nop word ptr [rax + rax*1 + 0x12]',
    '.byte 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00', '.byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00',
    '.byte 0x0f, 0x1f, 0xc0', '.byte 0x48, 0x0f, 0x1f, 0xc0', '.byte 0x0f, 0x1f, 0x44, 0x00, 0x00', 'prefetcht0 [rax]',
    'prefetchnta [rbx + rcx*8]', '.byte 0x0f, 0x19, 0xc0', '.byte 0x0f, 0x1e, 0xfa', '.byte 0x48, 0x90', '.byte 0xf3, 0x48, 0x90',
    '.nops 11', '.nops 15',
  ];
  return (c, i) => {
    c.emit(forms[i % forms.length]!);
  };
}

function loopGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    const a32 = r.chance(0.25);
    const n = BigInt(r.range(1, 6));
    const hi = a32 ? (r.u64() >> 32n) << 32n : 0n;
    c.reserve(RCX, hi | n);
    c.reserve(RAX, BigInt(r.int(4)));
    const p = a32 ? 'addr32 ' : '';
    switch (i % 5) {
      case 0: c.emit('2: inc eax'); c.emitFocus(`${p}loop 2b`); break;
      case 1: c.emit('2: inc eax', `cmp eax, ${r.range(0, 5)}`); c.emitFocus(`${p}loopne 2b`); break;
      case 2: c.emit('2: inc eax', `test eax, ${r.pick([1, 2, 4, 0])}`); c.emitFocus(`${p}loope 2b`); break;
      case 3:
        c.release(RCX);
        c.gpr[RCX] = r.chance(0.5) ? 0n : r.chance(0.5) ? 0xffffffff00000000n : BigInt(r.range(1, 3));
        c.emit(`jrcxz 1f`, 'mov eax, 7', '1:');
        break;
      case 4:
        c.release(RCX);
        c.gpr[RCX] = r.chance(0.5) ? 0n : r.chance(0.5) ? 0xffffffff00000000n : (r.u64() << 32n) | BigInt(r.range(0, 2));
        c.emit(`jecxz 1f`, 'mov eax, 7', '1:');
        break;
    }
  };
}

function enterLeaveGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    stackSetup(c);
    c.reserve(RBP, DATA_ADDR + BigInt(r.range(0x900, 0xc00) & ~7));
    switch (i % 5) {
      case 0: c.emit(`enter ${r.pick([0, 8, 16, 0x18, 0x100, r.int(512)])}, ${r.pick([0, 0, 1, 2, 3, 5])}`); break;
      case 1: c.emit('leave'); break;
      case 2: c.emit(`enter ${r.pick([0, 16, 0x40])}, ${r.pick([0, 1, 2])}`, 'mov qword ptr [rbp - 8], rax', 'leave'); break;
      case 3: c.emit(r.pick(['leavew', 'enterw 8, 0', 'enterw 16, 2'])); break;
      case 4: c.emit(`enter ${r.int(64) * 8}, ${r.int(32)}`); break;
    }
  };
}

function callRetGroup(): GenFn {
  const forms: string[][] = [
    ['call 1f', '1: pop rcx'],
    ['call 1f', 'jmp 2f', '1: ret', '2:'],
    ['call 1f', 'jmp 2f', '1: ret 16', '2:'],
    ['lea rax, [rip + 1f]', 'call rax', 'jmp 2f', '1: mov ecx, 5', 'ret', '2:'],
    ['lea rax, [rip + 1f]', 'mov qword ptr [rsp - 64], rax', 'call qword ptr [rsp - 64]', 'jmp 2f', '1: ret', '2:'],
    ['lea rax, [rip + 1f]', 'jmp rax', 'mov ecx, 1', '1:'],
    ['lea rax, [rip + 1f]', 'mov qword ptr [rsp - 16], rax', 'jmp qword ptr [rsp - 16]', 'mov ecx, 1', '1:'],
    ['jmp 1f', 'mov ecx, 1', '1:'],
    ['jmp 1f', '.fill 200, 1, 0xcc', '1:'],
    ['call 1f', 'jmp 3f', '1: call 2f', 'ret', '2: ret', '3:'],
    ['lea rax, [rip + 1f]', 'push rax', 'ret', 'mov ecx, 1', '1:'],
  ];
  return (c, i) => {
    stackSetup(c);
    const f = forms[i % forms.length]!;
    const k = f.findIndex((l) => /^(call|jmp|push)/.test(l));
    c.emit(...f.slice(0, k));
    c.emitFocus(f[k]!);
    c.emit(...f.slice(k + 1));
  };
}

// --- fixed enumerations: faults and prefixes

interface FixedCase {
  asm: string[];
  setup?: (c: CaseBuilder) => void;
  note?: string;
}

const FAULTS: FixedCase[] = [
  { asm: ['ud2'] },
  { asm: ['.byte 0x0f, 0xb9, 0xc0'], note: 'UD1' },
  { asm: ['.byte 0x0f, 0xff, 0xc0'], note: 'UD0' },
  ...[0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0xce, 0xd6].map((b) => ({
    asm: [`.byte ${hex(b)}`], note: 'invalid in 64-bit mode',
  })),
  { asm: ['.byte 0xd4, 0x0a'], note: 'aam: invalid in 64-bit mode' },
  { asm: ['.byte 0xd5, 0x0a'], note: 'aad: invalid in 64-bit mode' },
  { asm: ['.byte 0x9a, 0, 0, 0, 0, 0, 0'], note: 'call far: invalid in 64-bit mode' },
  { asm: ['.byte 0xea, 0, 0, 0, 0, 0, 0'], note: 'jmp far: invalid in 64-bit mode' },
  { asm: ['.byte 0x8d, 0xc3'], note: 'lea with register operand' },
  { asm: ['.byte 0xf0, 0x01, 0xd8'], note: 'lock add reg, reg' },
  { asm: ['.byte 0xf0, 0x90'], note: 'lock nop' },
  { asm: ['.byte 0xf0, 0x8b, 0x03'], note: 'lock mov' },
  { asm: ['.byte 0x0f, 0xc7, 0xc8'], note: 'cmpxchg8b with register operand' },
  { asm: ['.byte 0x48, 0x0f, 0xc7, 0xc9'], note: 'cmpxchg16b with register operand' },
  { asm: ['.byte 0xc6, 0xd0, 0x00'], note: 'C6 /2' },
  { asm: ['.byte 0x8e, 0xc8'], note: 'mov cs, ax' },
  { asm: ['.fill 15, 1, 0x66', 'nop'], note: 'instruction longer than 15 bytes: #GP(0)' },
  { asm: ['.fill 14, 1, 0x66', 'nop'], note: '15-byte instruction (valid)' },
  { asm: ['int3'] },
  { asm: ['nop', 'int3', 'nop'] },
  { asm: ['int 3'] },
  ...[0x8000000000000000n, 0x0000800000000000n, 0xffff7fffffffffffn, 0x00007ffffffffffdn].flatMap((a) => [
    { asm: ['mov eax, dword ptr [rbx]'], setup: (c: CaseBuilder) => { c.gpr[RBX] = a; }, note: 'non-canonical load' },
    { asm: ['mov dword ptr [rbx + 8], eax'], setup: (c: CaseBuilder) => { c.gpr[RBX] = a - 8n; }, note: 'non-canonical store' },
    { asm: ['push rax'], setup: (c: CaseBuilder) => { c.gpr[RSP] = a + 8n; }, note: 'non-canonical stack' },
    { asm: ['mov eax, dword ptr [rbp]'], setup: (c: CaseBuilder) => { c.gpr[RBP] = a; }, note: 'non-canonical via rbp (SS)' },
  ]),
  { asm: ['movaps xmm0, xmmword ptr [rbx + 4]'], setup: (c) => { c.gpr[RBX] = DATA_ADDR + 0x100n; }, note: 'misaligned movaps' },
  { asm: ['movdqa xmmword ptr [rbx + 8], xmm1'], setup: (c) => { c.gpr[RBX] = DATA_ADDR + 0x100n; }, note: 'misaligned movdqa store' },
  { asm: ['paddb xmm1, xmmword ptr [rbx + 1]'], setup: (c) => { c.gpr[RBX] = DATA_ADDR + 0x100n; }, note: 'misaligned m128 operand' },
  { asm: ['mov ecx, 0', 'div ecx'] },
  { asm: ['mov eax, 1', 'mov ecx, 5', 'inc edx', 'div ecx'], setup: (c) => { c.gpr[RDX] = 0x4n; }, note: 'state before the fault' },
  { asm: ['mov ecx, 0', 'idiv cl'] },
  { asm: ['xor edx, edx', 'mov eax, 0x80000000', 'mov ecx, -1', 'cdq', 'idiv ecx'] },
  { asm: ['ldmxcsr dword ptr [rbx]'], setup: (c) => { c.gpr[RBX] = DATA_ADDR + 0x40n; c.poke(0x40, 0x11f80n, 4); }, note: 'MXCSR reserved bit 16' },
  { asm: ['ldmxcsr dword ptr [rbx]'], setup: (c) => { c.gpr[RBX] = DATA_ADDR + 0x40n; c.poke(0x40, 0x80001f80n, 4); }, note: 'MXCSR reserved bit 31' },
  { asm: ['mov rax, 1', 'ud2', 'mov rax, 2'] },
];

const PREFIXES: FixedCase[] = [
  { asm: ['.byte 0x2e', 'add eax, dword ptr [rbx]'], note: 'CS override ignored' },
  { asm: ['.byte 0x3e', 'add eax, dword ptr [rbx]'] },
  { asm: ['.byte 0x26', 'mov eax, dword ptr [rbx]'], note: 'ES override ignored' },
  { asm: ['.byte 0x36', 'mov dword ptr [rbx], ecx'], note: 'SS override ignored' },
  { asm: ['.byte 0x66, 0x66', 'add eax, ebx'] },
  { asm: ['.byte 0x48, 0x66, 0x01, 0xd8'], note: 'REX not immediately before opcode is ignored' },
  { asm: ['.byte 0x48, 0x41, 0x01, 0xd8'], note: 'only the last REX counts' },
  { asm: ['.byte 0x66, 0x48, 0x01, 0xd8'], note: 'REX.W overrides 66' },
  { asm: ['.byte 0x40, 0x88, 0xe0'], note: 'mov al, spl' },
  { asm: ['.byte 0x88, 0xe0'], note: 'mov al, ah' },
  { asm: ['.byte 0x40, 0x00, 0xff'], note: 'add dil, dil' },
  { asm: ['.byte 0x00, 0xff'], note: 'add bh, bh' },
  { asm: ['.byte 0xf3', 'add eax, ebx'], note: 'F3 ignored on ADD' },
  { asm: ['.byte 0xf2', 'sub eax, ebx'] },
  { asm: ['.byte 0x67', 'add eax, ebx'], note: '67 ignored without memory operand' },
  { asm: ['.byte 0x66, 0x67', 'mov eax, dword ptr [rbx]'] },
  { asm: ['.byte 0x2e, 0x3e, 0x26, 0x36, 0x66', 'add eax, ebx'] },
  { asm: ['.byte 0x40', 'mov eax, ebx'], note: 'empty REX' },
  { asm: ['.byte 0x4f', 'nop'], note: 'REX.WRXB on NOP' },
  { asm: ['.byte 0x41', 'xchg eax, ecx'], note: 'REX.B on short xchg' },
  { asm: ['.byte 0x41, 0xb8, 0x78, 0x56, 0x34, 0x12'], note: 'mov r8d, imm32' },
  { asm: ['.byte 0x49, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8'], note: 'movabs r8, imm64' },
  { asm: ['.byte 0x66, 0xb8, 0x34, 0x12'], note: 'mov ax, imm16' },
  { asm: ['.byte 0x66, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8'], note: 'REX.W wins: movabs rax, imm64' },
  { asm: ['.byte 0x66, 0x05, 0x34, 0x12'], note: 'add ax, imm16' },
  { asm: ['.byte 0x48, 0x05, 0x78, 0x56, 0x34, 0x92'], note: 'add rax, simm32' },
  { asm: ['.byte 0x48, 0x83, 0xc0, 0x80'], note: 'add rax, simm8' },
  { asm: ['.byte 0x82, 0xc0, 0x01'], note: 'opcode 82 is invalid in 64-bit mode' },
  { asm: ['.byte 0x66, 0x0f, 0xb6, 0xc3'], note: 'movzx ax, bl' },
  { asm: ['.byte 0x48, 0x0f, 0xbe, 0xc7'], note: 'movsx rax, dil' },
  { asm: ['.byte 0x0f, 0xbe, 0xc7'], note: 'movsx eax, bh' },
];

function fixedGroup(list: FixedCase[]): GenFn {
  return (c, i) => {
    const f = list[i % list.length]!;
    c.gpr[RBX] = DATA_ADDR + BigInt(c.r.int(0x100) * 8);
    f.setup?.(c);
    if (f.note) c.note = f.note;
    c.emit(...f.asm);
  };
}

// --- SSE

function f32(r: Rng): bigint {
  const k = r.int(100);
  if (k < 30) return r.pick(F32_EDGES);
  if (k < 40) return BigInt(r.u32());
  if (k < 52) return f32bits(r.range(-3000, 3000) / r.pick([1, 1, 2, 4, 8, 3]));
  const sign = r.chance(0.5) ? 1n << 31n : 0n;
  const exp = BigInt(127 + r.range(-30, 66));
  let mant = BigInt(r.u32() & 0x7fffff);
  if (r.chance(0.3)) mant &= ~((1n << BigInt(r.range(0, 23))) - 1n);
  return sign | (exp << 23n) | mant;
}

function f64(r: Rng): bigint {
  const k = r.int(100);
  if (k < 30) return r.pick(F64_EDGES);
  if (k < 40) return r.u64();
  if (k < 52) return f64bits(r.range(-3000, 3000) / r.pick([1, 1, 2, 4, 8, 3]));
  const sign = r.chance(0.5) ? 1n << 63n : 0n;
  const exp = BigInt(1023 + r.range(-60, 66));
  let mant = r.u64() & mask(52);
  if (r.chance(0.3)) mant &= ~((1n << BigInt(r.range(0, 52))) - 1n);
  return sign | (exp << 52n) | mant;
}

function randomMxcsr(c: CaseBuilder): void {
  const r = c.r;
  let m = 0x1f80;
  if (r.chance(0.5)) m |= r.int(4) << 13; // rounding control
  if (r.chance(0.2)) m |= 0x8000; // FTZ
  if (r.chance(0.2)) m |= 0x40; // DAZ
  if (r.chance(0.25)) m |= r.int(64); // sticky exception flags
  c.mxcsr = m;
}

/** random 128-bit value built from lane-sized edge/random values */
function lanes128(c: CaseBuilder, laneW: number): [bigint, bigint] {
  if (c.r.chance(0.4)) return [c.r.u64(), c.r.u64()];
  let v = 0n;
  for (let k = 0; k < 128 / laneW; k++) v |= c.val(laneW) << BigInt(k * laneW);
  return [v & mask(64), v >> 64n];
}

function xname(i: number): string {
  return `xmm${i}`;
}

/** xmm or m128 source operand; aligned unless misalignP hits */
function xmmSrc(c: CaseBuilder, memP: number, size: number, opts: { align?: boolean; misalignP?: number } = {}): string {
  if (c.r.chance(memP)) {
    let off = c.chooseOff(size, opts.align ? 16 : 1);
    if (opts.align && c.r.chance(opts.misalignP ?? 0.04)) {
      off = Math.min(off + c.r.pick([1, 4, 8]), PAGE_SIZE - size);
      c.note = 'misaligned 16-byte operand: #GP';
    }
    const m = c.mem(size, { off });
    return m.text;
  }
  return xname(c.xreg());
}

function sseMovGroup(ops: string[], aligned: Record<string, boolean>): GenFn {
  return (c, i) => {
    const r = c.r;
    const op = ops[i % ops.length]!;
    const form = r.int(3);
    const al = !!aligned[op];
    if (form === 0) c.emit(`${op} ${xname(c.xreg())}, ${xname(c.xreg())}`);
    else if (form === 1) c.emit(`${op} ${xname(c.xreg())}, ${xmmSrc(c, 1, 16, { align: al, misalignP: 0.08 })}`);
    else {
      const s = xname(c.xreg());
      c.emit(`${op} ${xmmSrc(c, 1, 16, { align: al, misalignP: 0.08 })}, ${s}`);
    }
  };
}

function movdMovqGroup(): GenFn {
  return (c, i) => {
    const x = xname(c.xreg());
    switch (i % 9) {
      case 0: c.emit(`movd ${x}, ${c.reg(32).name}`); break;
      case 1: c.emit(`movd ${x}, ${c.mem(4).text}`); break;
      case 2: c.emit(`movd ${c.reg(32).name}, ${x}`); break;
      case 3: c.emit(`movd ${c.mem(4).text}, ${x}`); break;
      case 4: c.emit(`movq ${x}, ${c.reg(64).name}`); break;
      case 5: c.emit(`movq ${c.reg(64).name}, ${x}`); break;
      case 6: c.emit(`movq ${x}, ${c.mem(8).text}`); break;
      case 7: c.emit(`movq ${c.mem(8).text}, ${x}`); break;
      case 8: c.emit(`movq ${x}, ${xname(c.xreg())}`); break;
    }
  };
}

function movssGroup(): GenFn {
  return (c, i) => {
    const op = i % 2 ? 'movsd' : 'movss';
    const size = i % 2 ? 8 : 4;
    const x = xname(c.xreg());
    switch ((i >> 1) % 3) {
      case 0: c.emit(`${op} ${x}, ${xname(c.xreg())}`); break;
      case 1: c.emit(`${op} ${x}, ${c.mem(size).text}`); break;
      case 2: c.emit(`${op} ${c.mem(size).text}, ${x}`); break;
    }
  };
}

function packedIntGroup(ops: string[], laneOf: (op: string) => number): GenFn {
  return (c, i) => {
    const r = c.r;
    const op = ops[i % ops.length]!;
    const lw = laneOf(op);
    const d = c.xreg();
    const [dl, dh] = lanes128(c, lw);
    c.setXmm(d, dl, dh);
    const useMem = r.chance(0.3);
    const [sl, sh] = r.chance(0.1) ? [dl, dh] : lanes128(c, lw);
    if (useMem) {
      // memory operand: the page's random content
      c.emit(`${op} ${xname(d)}, ${xmmSrc(c, 1, 16, { align: true })}`);
    } else {
      const s = r.chance(0.05) ? d : c.xreg();
      if (s !== d) c.setXmm(s, sl, sh);
      c.emit(`${op} ${xname(d)}, ${xname(s)}`);
    }
  };
}

function pmovmskbGroup(): GenFn {
  return (c) => {
    const x = c.xreg();
    const [l, h] = lanes128(c, 8);
    c.setXmm(x, l, h);
    c.emit(`pmovmskb ${c.reg(c.r.chance(0.8) ? 32 : 64).name}, ${xname(x)}`);
  };
}

function pshufdGroup(): GenFn {
  return (c) => {
    const d = xname(c.xreg());
    c.emit(`pshufd ${d}, ${xmmSrc(c, 0.3, 16, { align: true })}, ${hex(c.r.int(256))}`);
  };
}

function scalarFp(op: string): GenFn {
  const dbl = op.endsWith('sd');
  const size = dbl ? 8 : 4;
  return (c) => {
    const r = c.r;
    randomMxcsr(c);
    const gen = (): bigint => (dbl ? f64(r) : f32(r));
    const d = c.xreg();
    const a = gen();
    c.setXmmLow(d, a, size * 8);
    const b = r.chance(0.1) ? a : gen();
    if (r.chance(0.3)) {
      const m = c.mem(size);
      c.poke(m.off, b, size);
      c.emit(`${op} ${xname(d)}, ${m.text}`);
    } else {
      const s = r.chance(0.05) ? d : c.xreg();
      if (s !== d) c.setXmmLow(s, b, size * 8);
      c.emit(`${op} ${xname(d)}, ${xname(s)}`);
    }
  };
}

function cvtGroup(op: string): GenFn {
  return (c, i) => {
    const r = c.r;
    randomMxcsr(c);
    const d = c.xreg();
    if (op === 'cvtsi2ss' || op === 'cvtsi2sd') {
      const w = i % 2 ? 64 : 32;
      const v = r.chance(0.3) ? c.val(w) : r.bits(r.range(1, w));
      if (r.chance(0.3)) {
        const m = c.mem(w / 8);
        c.poke(m.off, v, w / 8);
        c.emit(`${op} ${xname(d)}, ${m.text}`);
      } else {
        const s = c.reg(w);
        c.setReg(s, v);
        c.emit(`${op} ${xname(d)}, ${s.name}`);
      }
    } else if (op === 'cvtss2sd' || op === 'cvtsd2ss') {
      const sz = op === 'cvtss2sd' ? 4 : 8;
      const v = sz === 4 ? f32(r) : f64(r);
      if (r.chance(0.3)) {
        const m = c.mem(sz);
        c.poke(m.off, v, sz);
        c.emit(`${op} ${xname(d)}, ${m.text}`);
      } else {
        const s = c.xreg();
        c.setXmmLow(s, v, sz * 8);
        c.emit(`${op} ${xname(d)}, ${xname(s)}`);
      }
    } else {
      // float -> int
      const sz = op.includes('ss') ? 4 : 8;
      const w = i % 2 ? 64 : 32;
      const v = sz === 4 ? f32(r) : f64(r);
      const dst = c.reg(w);
      if (r.chance(0.3)) {
        const m = c.mem(sz);
        c.poke(m.off, v, sz);
        c.emit(`${op} ${dst.name}, ${m.text}`);
      } else {
        c.setXmmLow(d, v, sz * 8);
        c.emit(`${op} ${dst.name}, ${xname(d)}`);
      }
    }
  };
}

function ucomiGroup(op: string): GenFn {
  const dbl = op.endsWith('sd');
  const size = dbl ? 8 : 4;
  return (c) => {
    const r = c.r;
    randomMxcsr(c);
    const gen = (): bigint => (dbl ? f64(r) : f32(r));
    const d = c.xreg();
    const a = gen();
    c.setXmmLow(d, a, size * 8);
    const b = r.chance(0.2) ? a : gen();
    if (r.chance(0.3)) {
      const m = c.mem(size);
      c.poke(m.off, b, size);
      c.emit(`${op} ${xname(d)}, ${m.text}`);
    } else {
      const s = c.xreg();
      c.setXmmLow(s, b, size * 8);
      c.emit(`${op} ${xname(d)}, ${xname(s)}`);
    }
  };
}

function mxcsrGroup(): GenFn {
  return (c, i) => {
    const r = c.r;
    randomMxcsr(c);
    const m = c.mem(4);
    if (i % 3 === 0) {
      c.emit(`stmxcsr ${m.text}`);
    } else {
      // any valid value (exceptions may be unmasked; nothing else runs afterwards)
      const v = r.int(0x10000);
      c.poke(m.off, BigInt(v), 4);
      c.emit(`ldmxcsr ${m.text}`);
      if (i % 3 === 2) c.emit(`stmxcsr ${c.mem(4).text}`);
    }
  };
}

// ---------------------------------------------------------------------------
// Group table

const PADD = ['paddb', 'paddw', 'paddd', 'paddq'];
const PSUB = ['psubb', 'psubw', 'psubd', 'psubq'];
const PCMPEQ = ['pcmpeqb', 'pcmpeqw', 'pcmpeqd'];
const PUNPCK = ['punpcklbw', 'punpcklwd', 'punpckldq', 'punpcklqdq', 'punpckhbw', 'punpckhwd', 'punpckhdq', 'punpckhqdq'];
const PLOGIC = ['pxor', 'por', 'pand', 'pandn'];
const laneOf = (op: string): number => {
  const s = op.replace(/^p(add|sub|cmpeq|unpck[lh])/, '');
  if (s.startsWith('bw') || s === 'b') return 8;
  if (s.startsWith('wd') || s === 'w') return 16;
  if (s.startsWith('dq') || s === 'd') return 32;
  return 64;
};

export const GROUPS: Group[] = [
  ...['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test'].map((op) => ({ name: op, base: 300, gen: alu(op) })),
  ...['neg', 'not', 'inc', 'dec'].map((op) => ({ name: op, base: 200, gen: unary(op) })),
  ...['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'].map((op) => ({ name: op, base: 350, gen: shift(op) })),
  { name: 'shld', base: 300, gen: shiftDouble('shld') },
  { name: 'shrd', base: 300, gen: shiftDouble('shrd') },
  { name: 'mul', base: 250, gen: mulLike('mul') },
  { name: 'imul', base: 350, gen: imul() },
  { name: 'div', base: 300, gen: divLike('div') },
  { name: 'idiv', base: 300, gen: divLike('idiv') },
  ...['bt', 'bts', 'btr', 'btc'].map((op) => ({ name: op, base: 220, gen: btGroup(op) })),
  ...['bsf', 'bsr', 'tzcnt', 'lzcnt', 'popcnt'].map((op) => ({ name: op, base: 150, gen: bitScan(op) })),
  { name: 'mov', base: 350, gen: movGroup() },
  { name: 'movzx', base: 150, gen: movExt('movzx') },
  { name: 'movsx', base: 150, gen: movExt('movsx') },
  { name: 'movsxd', base: 80, gen: movExt('movsxd') },
  { name: 'lea', base: 250, gen: leaGroup() },
  { name: 'push', base: 150, gen: pushGroup() },
  { name: 'pop', base: 150, gen: popGroup() },
  { name: 'xchg', base: 150, gen: xchgGroup() },
  { name: 'setcc', base: 250, gen: setccGroup() },
  { name: 'cmovcc', base: 300, gen: cmovGroup() },
  { name: 'jcc', base: 250, gen: jccGroup() },
  { name: 'xadd', base: 200, gen: xaddGroup() },
  { name: 'cmpxchg', base: 250, gen: cmpxchgGroup() },
  { name: 'cmpxchg8b', base: 120, gen: cmpxchgWide(8) },
  { name: 'cmpxchg16b', base: 120, gen: cmpxchgWide(16) },
  { name: 'bswap', base: 60, gen: bswapGroup() },
  ...(['movs', 'stos', 'lods', 'scas', 'cmps'] as const).map((op) => ({ name: op, base: 250, gen: stringGroup(op) })),
  { name: 'cbw-cwd', base: 120, gen: convertGroup() },
  { name: 'flag-ops', base: 150, gen: flagOpsGroup() },
  { name: 'pushf-popf', base: 120, gen: pushfPopfGroup() },
  { name: 'nop', base: 36, gen: nopGroup() },
  { name: 'loop-jrcxz', base: 150, gen: loopGroup() },
  { name: 'enter-leave', base: 120, gen: enterLeaveGroup() },
  { name: 'call-ret-jmp', base: 120, gen: callRetGroup() },
  { name: 'faults', base: 0, fixed: FAULTS.length, gen: fixedGroup(FAULTS) },
  { name: 'prefixes', base: 0, fixed: PREFIXES.length, gen: fixedGroup(PREFIXES) },
  // SSE
  { name: 'movd-movq', base: 150, gen: movdMovqGroup() },
  { name: 'movaps-movups', base: 150, gen: sseMovGroup(['movaps', 'movups', 'movapd', 'movupd'], { movaps: true, movapd: true }) },
  { name: 'movdqa-movdqu', base: 120, gen: sseMovGroup(['movdqa', 'movdqu'], { movdqa: true }) },
  { name: 'movss-movsd', base: 150, gen: movssGroup() },
  { name: 'sse-logic', base: 120, gen: packedIntGroup(PLOGIC, () => 64) },
  { name: 'padd', base: 150, gen: packedIntGroup(PADD, laneOf) },
  { name: 'psub', base: 150, gen: packedIntGroup(PSUB, laneOf) },
  { name: 'pcmpeq', base: 120, gen: packedIntGroup(PCMPEQ, laneOf) },
  { name: 'pmovmskb', base: 60, gen: pmovmskbGroup() },
  { name: 'pshufd', base: 80, gen: pshufdGroup() },
  { name: 'punpck', base: 160, gen: packedIntGroup(PUNPCK, laneOf) },
  ...['addss', 'addsd', 'subss', 'subsd', 'mulss', 'mulsd', 'divss', 'divsd', 'sqrtss', 'sqrtsd', 'minss', 'minsd', 'maxss', 'maxsd'].map(
    (op) => ({ name: op, base: 120, gen: scalarFp(op) })),
  ...['ucomiss', 'ucomisd', 'comiss', 'comisd'].map((op) => ({ name: op, base: 150, gen: ucomiGroup(op) })),
  ...['cvtsi2ss', 'cvtsi2sd', 'cvtss2si', 'cvtsd2si', 'cvttss2si', 'cvttsd2si', 'cvtss2sd', 'cvtsd2ss'].map((op) => ({
    name: op, base: 150, gen: cvtGroup(op),
  })),
  { name: 'ldmxcsr-stmxcsr', base: 90, gen: mxcsrGroup() },
];

export const BASE_TOTAL = GROUPS.reduce((a, g) => a + g.base + (g.fixed ?? 0), 0);
export const DEFAULT_CASES = 20000;
export const DEFAULT_SEED = 0x6a696e78; // 'jinx'

export interface GenerateOptions {
  seed?: number;
  /** approximate total number of cases (default DEFAULT_CASES) */
  count?: number;
  /** only groups / mnemonics matching this */
  filter?: RegExp;
}

function makePages(seed: number): Uint8Array[] {
  const r = new Rng(hashStr('pages', seed));
  const pages: Uint8Array[] = [];
  for (let p = 0; p < 6; p++) {
    const pg = new Uint8Array(PAGE_SIZE);
    for (let i = 0; i < PAGE_SIZE; i += 4) {
      const v = r.u32();
      pg[i] = v & 0xff;
      pg[i + 1] = (v >>> 8) & 0xff;
      pg[i + 2] = (v >>> 16) & 0xff;
      pg[i + 3] = v >>> 24;
    }
    pages.push(pg);
  }
  pages.push(new Uint8Array(PAGE_SIZE));
  pages.push(new Uint8Array(PAGE_SIZE).fill(0xff));
  return pages;
}

/** mnemonics used in a snippet (for filtering) */
export function mnemonics(asm: string): string[] {
  const out: string[] = [];
  for (let l of asm.split('\n')) {
    l = l.replace(/#.*$/, '').replace(/^\s*\d+:\s*/, '').trim();
    l = l.replace(/^(\{(load|store)\}\s+|lock\s+|rep\w*\s+|addr32\s+)+/, '');
    const m = /^([.\w]+)/.exec(l);
    if (m && !m[1]!.startsWith('.')) out.push(m[1]!);
  }
  return out;
}

export function caseMatches(c: Case, re: RegExp): boolean {
  return re.test(c.group) || mnemonics(c.asm).some((m) => re.test(m));
}

export function generateCases(opts: GenerateOptions = {}): Case[] {
  const seed = (opts.seed ?? DEFAULT_SEED) >>> 0;
  const scale = (opts.count ?? DEFAULT_CASES) / (BASE_TOTAL - GROUPS.reduce((a, g) => a + (g.fixed ?? 0), 0));
  const pages = makePages(seed);
  const cases: Case[] = [];
  for (const g of GROUPS) {
    const r = new Rng(hashStr(g.name, seed));
    const n = g.fixed ?? Math.max(8, Math.round(g.base * scale));
    for (let i = 0; i < n; i++) {
      const c = new CaseBuilder(r, pages);
      g.gen(c, i);
      const built = c.build(cases.length, g.name);
      cases.push(built);
    }
  }
  if (!opts.filter) return cases;
  return cases.filter((c) => caseMatches(c, opts.filter!));
}

/** Readable description of a case's inputs (only non-trivial parts). */
export function describeInputs(c: Case): string {
  const lines: string[] = [];
  const g = c.gpr.map((v, i) => `${R64[i]!.padStart(3)}=${v.toString(16).padStart(16, '0')}`);
  for (let i = 0; i < 16; i += 4) lines.push(g.slice(i, i + 4).join(' '));
  lines.push(`rflags=${c.rflags.toString(16)} mxcsr=${c.mxcsr.toString(16)}`);
  if (/xmm|ss|sd|mxcsr|movd|movq|^p/m.test(c.asm)) {
    const xs: string[] = [];
    for (let i = 0; i < 16; i++) {
      if (new RegExp(`\\bxmm${i}\\b`).test(c.asm)) xs.push(`xmm${i}=${c.xmm[2 * i + 1]!.toString(16).padStart(16, '0')}:${c.xmm[2 * i]!.toString(16).padStart(16, '0')}`);
    }
    if (xs.length) lines.push(...xs);
  }
  for (const p of c.patches) lines.push(`mem[+${hex(p.off)}] = ${Buffer.from(p.bytes).toString('hex')}`);
  return lines.join('\n');
}

export { R64 as GPR_NAMES };
