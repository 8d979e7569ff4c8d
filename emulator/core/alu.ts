// Integer ALU operations with their flag semantics (SDM vol. 2, per instruction; flags that the
// manual leaves undefined are set to a plausible value and masked by the differential tests).
import {
  F_ADD, F_SUB, F_LOGIC, F_ADC, F_SBB, F_SHL, F_SHR, F_SAR, setLazy, setLazyC, setArith, sizeMask, signBit, getCF,
  arithFlags, parity, CF, PF, ZF, SF, OF,
} from './flags';

// op: 0 ADD 1 OR 2 ADC 3 SBB 4 AND 5 SUB 6 XOR 7 CMP (the ModRM /r encoding of group 1)
export function alu(op: i32, size: i32, d: u64, s: u64): u64 {
  const m = sizeMask(size);
  let r: u64;
  switch (op) {
    case 0: r = (d + s) & m; setLazy(F_ADD, r, d, s, size); return r;
    case 1: r = d | s; setLazy(F_LOGIC, r, d, s, size); return r;
    case 2: {
      const c: u64 = getCF() ? 1 : 0;
      r = (d + s + c) & m; setLazyC(F_ADC, r, d, s, size, c != 0); return r;
    }
    case 3: {
      const c: u64 = getCF() ? 1 : 0;
      r = (d - s - c) & m; setLazyC(F_SBB, r, d, s, size, c != 0); return r;
    }
    case 4: r = d & s; setLazy(F_LOGIC, r, d, s, size); return r;
    case 6: r = d ^ s; setLazy(F_LOGIC, r, d, s, size); return r;
    default: r = (d - s) & m; setLazy(F_SUB, r, d, s, size); return r; // SUB, CMP
  }
}

// Materialized flags from a result (SF ZF PF), plus given CF/OF/AF bits.
export function resultFlags(r: u64, size: i32, extra: u64): u64 {
  let f = extra;
  if ((r & sizeMask(size)) == 0) f |= ZF;
  if ((r & signBit(size)) != 0) f |= SF;
  if (parity(r)) f |= PF;
  return f;
}

// Group 2 rotates and shifts. op: 0 ROL 1 ROR 2 RCL 3 RCR 4 SHL 5 SHR 6 SAL(=SHL) 7 SAR.
// Returns the result; flags are left unchanged when the masked count is 0.
export function shift(op: i32, size: i32, d: u64, countIn: u32): u64 {
  const bits: u32 = <u32>size << 3;
  const m = sizeMask(size);
  const sb = signBit(size);
  const count: u32 = countIn & (size == 8 ? 0x3f : 0x1f);
  if (count == 0) return d;
  if (op >= 4) {
    // SHL/SAL, SHR, SAR: flags lazily (see F_SHL in flags.ts)
    let r: u64;
    if (op == 5) {
      r = count < bits ? d >> <u64>count : 0;
      setLazy(F_SHR, r, d, <u64>count, size);
    } else if (op == 7) {
      const sh: u64 = 64 - <u64>bits;
      const sd: i64 = (<i64>(d << sh)) >> sh;
      const c: u64 = <u64>(count < bits ? count : bits - 1);
      r = <u64>(sd >> <i64>c) & m;
      setLazy(F_SAR, r, d, <u64>count, size);
    } else {
      r = count < bits ? (d << <u64>count) & m : 0;
      setLazy(F_SHL, r, d, <u64>count, size);
    }
    return r;
  }
  const old = arithFlags();
  let r: u64 = d;
  let f: u64 = old;
  switch (op) {
    case 0: { // ROL: only CF and OF change
      const c: u64 = <u64>(count % bits);
      if (c != 0) r = ((d << c) | (d >> (<u64>bits - c))) & m;
      const cf: u64 = r & 1;
      f = (old & ~(CF | OF)) | cf;
      if ((((r & sb) != 0 ? 1 : 0) ^ <i32>cf) != 0) f |= OF;
      break;
    }
    case 1: { // ROR
      const c: u64 = <u64>(count % bits);
      if (c != 0) r = ((d >> c) | (d << (<u64>bits - c))) & m;
      const cf: u64 = (r & sb) != 0 ? 1 : 0;
      f = (old & ~(CF | OF)) | cf;
      if (((r ^ (r << 1)) & sb) != 0) f |= OF;
      break;
    }
    case 2: { // RCL: rotate through CF, (bits+1)-bit rotation
      let c: u32 = size < 4 ? count % (bits + 1) : count;
      let cf: u64 = old & CF;
      for (let i: u32 = 0; i < c; i++) {
        const out: u64 = (r & sb) != 0 ? 1 : 0;
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      f = (old & ~(CF | OF)) | cf;
      if ((((r & sb) != 0 ? 1 : 0) ^ <i32>cf) != 0) f |= OF;
      break;
    }
    default: { // RCR
      let c: u32 = size < 4 ? count % (bits + 1) : count;
      let cf: u64 = old & CF;
      const of0: bool = (((d & sb) != 0 ? 1 : 0) ^ <i32>cf) != 0;
      for (let i: u32 = 0; i < c; i++) {
        const out: u64 = r & 1;
        r = (r >> 1) | (cf != 0 ? sb : 0);
        cf = out;
      }
      f = (old & ~(CF | OF)) | cf;
      if (count == 1 ? of0 : (((r ^ (r << 1)) & sb) != 0)) f |= OF;
      break;
    }
  }
  setArith(f);
  return r;
}

// SHLD / SHRD (SDM vol. 2 "SHLD", "SHRD"): count masked to 5 (6 with REX.W) bits.
export function shiftDouble(left: bool, size: i32, d: u64, s: u64, countIn: u32): u64 {
  const bits: u64 = <u64>size << 3;
  const m = sizeMask(size);
  const sb = signBit(size);
  const count: u64 = <u64>(countIn & (size == 8 ? 0x3f : 0x1f));
  if (count == 0) return d;
  let r: u64; let cf: u64;
  if (size == 2) {
    // 16-bit with count > 16 is undefined; behave as a 32-bit funnel of d:s (what hardware does).
    const wide: u64 = left ? ((d << 16) | s) : ((s << 16) | d);
    if (left) {
      const x: u64 = (wide << count) | (count > 16 ? (d << (count - 16)) : 0);
      r = (x >> 16) & m; cf = (wide >> (32 - count)) & 1;
    } else {
      const x: u64 = (wide | (d << 32)) >> count;
      r = x & m; cf = ((wide | (d << 32)) >> (count - 1)) & 1;
    }
  } else if (left) {
    r = ((d << count) | (s >> (bits - count))) & m;
    cf = (d >> (bits - count)) & 1;
  } else {
    r = ((d >> count) | (s << (bits - count))) & m;
    cf = (d >> (count - 1)) & 1;
  }
  let f = resultFlags(r, size, cf);
  if (((r ^ d) & sb) != 0) f |= OF;
  setArith(f);
  return r;
}

// High 64 bits of the unsigned 128-bit product.
export function umulh(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff; const a1 = a >> 32;
  const b0 = b & 0xffffffff; const b1 = b >> 32;
  const p00 = a0 * b0; const p01 = a0 * b1; const p10 = a1 * b0; const p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
export function smulh(a: u64, b: u64): u64 {
  let h = umulh(a, b);
  if (<i64>a < 0) h -= b;
  if (<i64>b < 0) h -= a;
  return h;
}

// Flags after MUL/IMUL: CF = OF = overflow; SF ZF PF from the low half (undefined per manual).
export function mulFlags(lo: u64, size: i32, overflow: bool): void {
  setArith(resultFlags(lo, size, overflow ? (CF | OF) : 0));
}

// 128/64 unsigned division; returns false on #DE (divide by zero or quotient overflow).
export let divQ: u64 = 0;
export let divR: u64 = 0;
export function udiv128(hi: u64, lo: u64, d: u64): bool {
  if (d == 0) return false;
  if (hi == 0) { divQ = lo / d; divR = lo % d; return true; }
  if (hi >= d) return false;
  let r = hi; let q: u64 = 0;
  for (let i = 63; i >= 0; i--) {
    const top = r >> 63;
    r = (r << 1) | ((lo >> <u64>i) & 1);
    q <<= 1;
    if (top != 0 || r >= d) { r -= d; q |= 1; }
  }
  divQ = q; divR = r;
  return true;
}
export function sdiv128(hi: u64, lo: u64, d: u64): bool {
  if (d == 0) return false;
  const neg = <i64>hi < 0;
  let ahi = hi; let alo = lo;
  if (neg) { alo = ~lo + 1; ahi = ~hi + (alo == 0 ? 1 : 0); }
  const dneg = <i64>d < 0;
  const ad = dneg ? (~d + 1) : d;
  if (!udiv128(ahi, alo, ad)) return false;
  const qneg = neg != dneg;
  if (qneg) { if (divQ > 0x8000000000000000) return false; divQ = ~divQ + 1; }
  else if (divQ > 0x7fffffffffffffff) return false;
  if (neg) divR = ~divR + 1;
  return true;
}
