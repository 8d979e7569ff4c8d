// SSE/SSE2 case generator for the native-vs-emulator test (sse.test.ts). Complements the
// general differential harness (emulator/test/diff) with packed floating point, CMPxx,
// packed conversions, the remaining packed-integer instructions, partial moves, shuffles and
// unmasked-exception (#XM) cases. Built on the diff harness's CaseBuilder; the host CPU is
// the oracle, nothing here computes expected values.

import { CaseBuilder, Rng, mask, type Case } from '../diff/cases.ts';
import { PAGE_SIZE } from '../diff/native.ts';

type Gen = (c: CaseBuilder, i: number) => void;
interface Group { name: string; n: number; gen: Gen }

const hex = (v: bigint | number): string => `0x${BigInt(v).toString(16)}`;
const x = (i: number): string => `xmm${i}`;

// ---------------------------------------------------------------- floating-point values
const F32_EDGES = [
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x40000000, 0x3fc00000, 0x3f7fffff, 0x3f800001,
  0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000,
  0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0xffc54321, 0x7f800001, 0x7fa00000, 0xff812345,
  0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000, 0x5effffff, 0x4b000000, 0x3eaaaaab,
  0x00ffffff, 0x01000000, 0x0c800000, 0x33800000, 0x7e800000, 0x3f000001, 0x4a800001,
].map((v) => BigInt(v >>> 0));
const F64_EDGES = [
  0x0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x3fe0000000000000n, 0x4000000000000000n,
  0x3fefffffffffffffn, 0x3ff0000000000001n, 0x7fefffffffffffffn, 0xffefffffffffffffn, 0x0010000000000000n,
  0x8010000000000000n, 0x1n, 0x8000000000000001n, 0x000fffffffffffffn, 0x800fffffffffffffn, 0x0008000000000000n,
  0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff8000012345678n,
  0x7ff0000000000001n, 0x7ff4000000000000n, 0xfff0000000abcdefn, 0x41e0000000000000n, 0xc1e0000000000000n,
  0x41dfffffffc00000n, 0xc1e0000000200000n, 0x41dfffffffffffffn, 0xc1e00000001fffffn, 0x43e0000000000000n,
  0xc3e0000000000000n, 0x43dfffffffffffffn, 0x47efffffe0000000n, 0x47efffffefffffffn, 0x47effffff0000000n,
  0x3690000000000000n, 0x36a0000000000000n, 0x380fffffffffffffn, 0x3810000000000000n, 0x3feffffffffffffen,
  0x36affffff0000000n, 0x3c90000000000000n,
];

export function f32v(r: Rng): bigint {
  const k = r.int(100);
  if (k < 25) return r.pick(F32_EDGES);
  if (k < 32) return BigInt(r.u32());
  const sign = r.chance(0.5) ? 1n << 31n : 0n;
  let e: number;
  const q = r.int(10);
  if (q < 2) e = r.range(0, 4); // denormal / near-min
  else if (q < 3) e = r.range(250, 254); // near-max
  else if (q < 4) e = r.range(0, 254);
  else e = 127 + r.range(-20, 20);
  let mant = BigInt(r.u32() & 0x7fffff);
  if (r.chance(0.35)) mant &= ~((1n << BigInt(r.range(0, 23))) - 1n);
  return sign | (BigInt(e) << 23n) | mant;
}
export function f64v(r: Rng): bigint {
  const k = r.int(100);
  if (k < 25) return r.pick(F64_EDGES);
  if (k < 32) return r.u64();
  const sign = r.chance(0.5) ? 1n << 63n : 0n;
  let e: number;
  const q = r.int(10);
  if (q < 2) e = r.range(0, 4);
  else if (q < 3) e = r.range(2042, 2046);
  else if (q < 4) e = r.range(0, 2046);
  else e = 1023 + r.range(-40, 40);
  let mant = r.u64() & mask(52);
  if (r.chance(0.35)) mant &= ~((1n << BigInt(r.range(0, 52))) - 1n);
  return sign | (BigInt(e) << 52n) | mant;
}
const fv = (r: Rng, dbl: boolean): bigint => (dbl ? f64v(r) : f32v(r));

// A second operand related to the first so that results hit cancellation, ties,
// overflow and underflow boundaries.
function related(r: Rng, dbl: boolean, a: bigint, op: string): bigint {
  const eb = dbl ? 52n : 23n;
  const ew = dbl ? 0x7ffn : 0xffn;
  const bias = dbl ? 1023 : 127;
  const sgn = 1n << (dbl ? 63n : 31n);
  const fm = mask(Number(eb));
  const ea = Number((a >> eb) & ew);
  const k = r.int(6);
  if (k === 0) return a ^ (r.chance(0.5) ? sgn : 0n); // equal or opposite
  if (k === 1) return ((a ^ sgn) + BigInt(r.range(-3, 3))) & mask(dbl ? 64 : 32); // near cancellation
  let e: number;
  const er = r.chance(0.5) ? r.range(dbl ? -1076 : -151, dbl ? -1018 : -122) : r.range(dbl ? 1020 : 124, dbl ? 1026 : 130);
  if (/mul/.test(op)) e = er - (ea - bias) + bias;
  else if (/div/.test(op)) e = (ea - bias) - er + bias;
  else e = ea + r.range(-60, 60);
  if (e < 0 || e > Number(ew) - 1) return fv(r, dbl);
  const mant = r.chance(0.5) ? (r.u64() & fm) : (r.u64() & fm & ~mask(r.range(0, Number(eb))));
  return (r.chance(0.5) ? sgn : 0n) | (BigInt(e) << eb) | mant;
}

function randomMxcsr(c: CaseBuilder, unmask = false): void {
  const r = c.r;
  let m = 0x1f80;
  if (r.chance(0.6)) m |= r.int(4) << 13;
  if (r.chance(0.25)) m |= 0x8000;
  if (r.chance(0.25)) m |= 0x40;
  if (r.chance(0.25)) m |= r.int(64);
  if (unmask) m &= ~(1 << (7 + r.int(6))) & ~(r.chance(0.3) ? r.int(64) << 7 : 0);
  c.mxcsr = m;
}

// xmm or aligned m128 source; rarely misaligned (#GP). Returns operand text.
function src128(c: CaseBuilder, lo: bigint, hi: bigint, memP = 0.3, misalign = 0.03, aligned = true): string {
  if (c.r.chance(memP)) {
    let off = c.chooseOff(16, 16);
    if (!aligned) off = c.chooseOff(16, 1);
    else if (c.r.chance(misalign)) off = Math.min(off + c.r.pick([1, 4, 8]), PAGE_SIZE - 16);
    c.poke(off, lo, 8);
    c.poke(off + 8, hi, 8);
    return c.mem(16, { off }).text;
  }
  const s = c.xreg();
  c.setXmm(s, lo, hi);
  return x(s);
}
function srcN(c: CaseBuilder, v: bigint, size: number, memP = 0.3): string {
  if (c.r.chance(memP)) {
    const m = c.mem(size);
    c.poke(m.off, v, size);
    return m.text;
  }
  const s = c.xreg();
  c.setXmmLow(s, v, size * 8);
  return x(s);
}

function packFp(c: CaseBuilder, dbl: boolean, gen: (k: number) => bigint): [bigint, bigint] {
  if (dbl) return [gen(0), gen(1)];
  const l = gen(0) | (gen(1) << 32n);
  const h = gen(2) | (gen(3) << 32n);
  return [l, h];
}

// ---------------------------------------------------------------- FP groups
function laneOf(A: [bigint, bigint], dbl: boolean, k: number): bigint {
  if (dbl) return A[k]!;
  return (A[k >> 1]! >> BigInt((k & 1) * 32)) & mask(32);
}
function fpPacked(op: string, unmask = false): Gen {
  const dbl = /pd$|sd$/.test(op);
  const scalar = /s[sd]$/.test(op) && !/^(movs)/.test(op);
  return (c) => {
    const r = c.r;
    randomMxcsr(c, unmask);
    const d = c.xreg();
    const [al, ah] = [c.r.u64(), c.r.u64()];
    const A = packFp(c, dbl, () => fv(r, dbl));
    const B = packFp(c, dbl, (k) => (r.chance(0.4) ? related(r, dbl, laneOf(A, dbl, k), op) : fv(r, dbl)));
    if (scalar) {
      c.setXmm(d, (al & ~mask(dbl ? 64 : 32)) | (A[0] & mask(dbl ? 64 : 32)), ah);
      c.emit(`${op} ${x(d)}, ${srcN(c, B[0] & mask(dbl ? 64 : 32), dbl ? 8 : 4)}`);
    } else {
      c.setXmm(d, A[0], A[1]);
      c.emit(`${op} ${x(d)}, ${src128(c, B[0], B[1])}`);
    }
  };
}

function cmpGroup(op: string): Gen {
  const dbl = /d$/.test(op);
  const scalar = /s[sd]$/.test(op);
  return (c, i) => {
    const r = c.r;
    randomMxcsr(c);
    const d = c.xreg();
    const A = packFp(c, dbl, () => fv(r, dbl));
    const B = packFp(c, dbl, (k) => (r.chance(0.3) ? laneOf(A, dbl, k) : fv(r, dbl)));
    const imm = i % 10 < 8 ? i % 8 : r.int(256);
    if (scalar) {
      c.setXmm(d, A[0], r.u64());
      c.emit(`${op} ${x(d)}, ${srcN(c, B[0] & mask(dbl ? 64 : 32), dbl ? 8 : 4)}, ${imm}`);
    } else {
      c.setXmm(d, A[0], A[1]);
      c.emit(`${op} ${x(d)}, ${src128(c, B[0], B[1])}, ${imm}`);
    }
  };
}

function intLanes(c: CaseBuilder, w: number): bigint {
  const r = c.r;
  const k = r.int(10);
  if (k < 3) return c.val(w);
  if (k < 5) return r.bits(r.range(1, w));
  return r.bits(w);
}
function int128(c: CaseBuilder, w: number): [bigint, bigint] {
  if (w >= 64 || c.r.chance(0.3)) return [intLanes(c, 64), intLanes(c, 64)];
  let v = 0n;
  for (let k = 0; k < 128 / w; k++) v |= intLanes(c, w) << BigInt(k * w);
  return [v & mask(64), v >> 64n];
}

function cvtPacked(op: string): Gen {
  return (c) => {
    const r = c.r;
    randomMxcsr(c);
    const d = c.xreg();
    c.setXmm(d, r.u64(), r.u64());
    const fromInt = /^cvtdq2/.test(op);
    const srcDbl = /^cvtt?pd2/.test(op);
    let lo: bigint, hi: bigint;
    if (fromInt) [lo, hi] = int128(c, 32);
    else {
      const gen = (): bigint => {
        if (r.chance(0.3)) {
          // values near integer boundaries
          const n = r.pick([0, 0.5, 1.5, 2.5, -0.5, -1.5, 2147483647.5, -2147483648.5, 2147483648, -2147483649, 1e10, 123456.75]);
          const dv = new DataView(new ArrayBuffer(8));
          if (srcDbl) { dv.setFloat64(0, n, true); return dv.getBigUint64(0, true); }
          dv.setFloat32(0, n, true); return BigInt(dv.getUint32(0, true));
        }
        return fv(r, srcDbl);
      };
      [lo, hi] = packFp(c, srcDbl, gen);
    }
    const m64 = op === 'cvtdq2pd' || op === 'cvtps2pd';
    if (m64) c.emit(`${op} ${x(d)}, ${r.chance(0.3) ? (() => { const m = c.mem(8); c.poke(m.off, lo, 8); return m.text; })() : (() => { const s = c.xreg(); c.setXmm(s, lo, hi); return x(s); })()}`);
    else c.emit(`${op} ${x(d)}, ${src128(c, lo, hi)}`);
  };
}

// ---------------------------------------------------------------- integer groups
const LANE: Record<string, number> = {
  paddb: 8, paddw: 16, paddd: 32, paddq: 64, psubb: 8, psubw: 16, psubd: 32, psubq: 64,
  pcmpgtb: 8, pcmpgtw: 16, pcmpgtd: 32, pcmpeqb: 8, pcmpeqw: 16, pcmpeqd: 32,
  paddusb: 8, paddusw: 16, psubusb: 8, psubusw: 16, paddsb: 8, paddsw: 16, psubsb: 8, psubsw: 16,
  pminub: 8, pmaxub: 8, pminsw: 16, pmaxsw: 16, pavgb: 8, pavgw: 16, pmullw: 16, pmulhw: 16, pmulhuw: 16,
  pmuludq: 32, pmaddwd: 16, psadbw: 8, packsswb: 16, packuswb: 16, packssdw: 32,
  pand: 64, pandn: 64, por: 64, pxor: 64, andps: 32, andnps: 32, orps: 32, xorps: 32, andpd: 64, andnpd: 64,
  orpd: 64, xorpd: 64, unpcklps: 32, unpckhps: 32, unpcklpd: 64, unpckhpd: 64,
  punpcklbw: 8, punpcklwd: 16, punpckldq: 32, punpcklqdq: 64, punpckhbw: 8, punpckhwd: 16, punpckhdq: 32, punpckhqdq: 64,
};
function intBinary(op: string): Gen {
  return (c) => {
    const w = LANE[op] ?? 32;
    const d = c.xreg();
    const [dl, dh] = int128(c, w);
    c.setXmm(d, dl, dh);
    const [sl, sh] = c.r.chance(0.1) ? [dl, dh] : int128(c, w);
    c.emit(`${op} ${x(d)}, ${src128(c, sl, sh)}`);
  };
}

const SHIFT_CNT = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255];
function shiftGroup(op: string): Gen {
  return (c, i) => {
    const r = c.r;
    const d = c.xreg();
    const [dl, dh] = int128(c, 16);
    c.setXmm(d, dl, dh);
    if (i % 2 === 0 && !/dq$/.test(op)) {
      const cnt = r.chance(0.8) ? BigInt(r.pick(SHIFT_CNT)) : r.u64();
      c.emit(`${op} ${x(d)}, ${src128(c, cnt, r.u64())}`);
    } else {
      c.emit(`${op} ${x(d)}, ${r.chance(0.8) ? r.pick(SHIFT_CNT) : r.int(256)}`);
    }
  };
}

function shuffleGroup(op: string): Gen {
  return (c) => {
    const r = c.r;
    const d = c.xreg();
    c.setXmm(d, r.u64(), r.u64());
    c.emit(`${op} ${x(d)}, ${src128(c, r.u64(), r.u64())}, ${r.int(256)}`);
  };
}

function movPartial(op: string): Gen {
  return (c) => {
    const r = c.r;
    const d = c.xreg();
    c.setXmm(d, r.u64(), r.u64());
    switch (op) {
      case 'movhlps': case 'movlhps': {
        const s = c.xreg(); c.setXmm(s, r.u64(), r.u64());
        c.emit(`${op} ${x(d)}, ${x(s)}`); break;
      }
      default:
        if (r.chance(0.5)) c.emit(`${op} ${x(d)}, ${c.mem(8).text}`);
        else c.emit(`${op} ${c.mem(8).text}, ${x(d)}`);
    }
  };
}

function miscGroup(): Gen {
  return (c, i) => {
    const r = c.r;
    const d = c.xreg();
    c.setXmm(d, r.u64(), r.u64());
    const [l, h] = int128(c, 8);
    switch (i % 12) {
      case 0: { const s = c.xreg(); c.setXmm(s, l, h); c.emit(`movmskps ${c.reg(r.chance(0.5) ? 32 : 64).name}, ${x(s)}`); break; }
      case 1: { const s = c.xreg(); c.setXmm(s, l, h); c.emit(`movmskpd ${c.reg(r.chance(0.5) ? 32 : 64).name}, ${x(s)}`); break; }
      case 2: { const g = c.reg(32); c.setReg(g, r.u64() & mask(32)); c.emit(`pinsrw ${x(d)}, ${g.name}, ${r.int(256)}`); break; }
      case 3: c.emit(`pinsrw ${x(d)}, ${c.mem(2).text}, ${r.int(256)}`); break;
      case 4: c.emit(`pextrw ${c.reg(r.chance(0.5) ? 32 : 64).name}, ${x(d)}, ${r.int(256)}`); break;
      case 5: { const g = c.reg(r.chance(0.5) ? 32 : 64); c.setReg(g, r.u64()); c.emit(`movnti ${c.mem(g.w / 8).text}, ${g.name}`); break; }
      case 6: c.emit(`movntdq ${c.mem(16, { align: r.chance(0.95) ? 16 : 4 }).text}, ${x(d)}`); break;
      case 7: c.emit(`movntps ${c.mem(16, { align: 16 }).text}, ${x(d)}`); break;
      case 8: c.emit(`movntpd ${c.mem(16, { align: 16 }).text}, ${x(d)}`); break;
      case 9: {
        const s = c.xreg(); c.setXmm(s, l, h);
        const m = c.chooseOff(16, 1);
        c.reserve(7, 0x200000n + BigInt(m));
        c.emit(`maskmovdqu ${x(d)}, ${x(s)}`); break;
      }
      case 10: { const s = c.xreg(); c.setXmm(s, l, h); c.emit(`pmovmskb ${c.reg(32).name}, ${x(s)}`); break; }
      default: {
        const ops = ['movq', 'movd'];
        const op = r.pick(ops);
        c.emit(op === 'movq' ? `movq ${c.mem(8).text}, ${x(d)}` : `movd ${x(d)}, ${c.mem(4).text}`);
      }
    }
  };
}

function rcpGroup(op: string): Gen {
  return (c) => {
    const r = c.r;
    randomMxcsr(c);
    const d = c.xreg();
    c.setXmm(d, r.u64(), r.u64());
    const [lo, hi] = packFp(c, false, () => f32v(r));
    if (/ss$/.test(op)) c.emit(`${op} ${x(d)}, ${srcN(c, lo & mask(32), 4)}`);
    else c.emit(`${op} ${x(d)}, ${src128(c, lo, hi)}`);
  };
}

// ---------------------------------------------------------------- group table
const FP_OPS = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'];
const INT_OPS = [
  'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'paddusb', 'paddusw', 'psubusb', 'psubusw', 'paddsb', 'paddsw', 'psubsb', 'psubsw',
  'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'pavgb', 'pavgw', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'psadbw',
  'packsswb', 'packuswb', 'packssdw', 'paddq', 'psubq', 'pandn', 'andps', 'andnps', 'orps', 'xorps', 'andpd', 'andnpd',
  'orpd', 'xorpd', 'unpcklps', 'unpckhps', 'unpcklpd', 'unpckhpd', 'punpcklqdq', 'punpckhqdq',
];
const SHIFTS = ['psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad', 'pslldq', 'psrldq'];

export const SSE_GROUPS: Group[] = [
  ...FP_OPS.flatMap((o) => ['ps', 'pd'].map((t) => ({ name: `${o}${t}`, n: 400, gen: fpPacked(`${o}${t}`) }))),
  ...FP_OPS.flatMap((o) => ['ss', 'sd'].map((t) => ({ name: `${o}${t}`, n: 600, gen: fpPacked(`${o}${t}`) }))),
  ...['addps', 'mulsd', 'divss', 'sqrtpd', 'subsd', 'maxps'].map((o) => ({ name: `xm-${o}`, n: 150, gen: fpPacked(o, true) })),
  ...['cmpps', 'cmppd', 'cmpss', 'cmpsd'].map((o) => ({ name: o, n: 400, gen: cmpGroup(o) })),
  ...['cvtdq2ps', 'cvtps2dq', 'cvttps2dq', 'cvtdq2pd', 'cvtpd2dq', 'cvttpd2dq', 'cvtps2pd', 'cvtpd2ps'].map((o) => ({ name: o, n: 400, gen: cvtPacked(o) })),
  ...INT_OPS.map((o) => ({ name: o, n: 150, gen: intBinary(o) })),
  ...SHIFTS.map((o) => ({ name: o, n: 150, gen: shiftGroup(o) })),
  ...['pshufd', 'pshuflw', 'pshufhw', 'shufps', 'shufpd'].map((o) => ({ name: o, n: 100, gen: shuffleGroup(o) })),
  ...['movlps', 'movhps', 'movlpd', 'movhpd', 'movhlps', 'movlhps'].map((o) => ({ name: o, n: 60, gen: movPartial(o) })),
  { name: 'misc', n: 300, gen: miscGroup() },
  ...['rcpps', 'rcpss', 'rsqrtps', 'rsqrtss'].map((o) => ({ name: o, n: 100, gen: rcpGroup(o) })),
];

function hashStr(s: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function generateSseCases(seed: number, scale: number, filter?: RegExp): Case[] {
  const pr = new Rng(hashStr('pages', seed));
  const pages: Uint8Array[] = [];
  for (let p = 0; p < 4; p++) {
    const pg = new Uint8Array(PAGE_SIZE);
    for (let i = 0; i < PAGE_SIZE; i++) pg[i] = pr.u32() & 0xff;
    pages.push(pg);
  }
  const cases: Case[] = [];
  for (const g of SSE_GROUPS) {
    if (filter && !filter.test(g.name)) continue;
    const r = new Rng(hashStr(g.name, seed));
    const n = Math.max(4, Math.round(g.n * scale));
    for (let i = 0; i < n; i++) {
      const c = new CaseBuilder(r, pages);
      g.gen(c, i);
      cases.push(c.build(cases.length, g.name));
    }
  }
  return cases;
}
export { hex };
