// Lazy arithmetic flags: the last flag-setting operation is recorded (kind, operands,
// result, size) and CF/PF/AF/ZF/SF/OF are computed only when something reads them.
// Values are stored already masked to the operand size.
//
// The record lives in linear memory next to the register file (REGS + FL_*), so the block engine
// (exec.ts) and the interpreter share it without copying:
//   FL_K   u32  kind | size << 8 | carry << 16 (ADC/SBB: carry in; INC/DEC: the CF they keep)
//   FL_RES u64  result; for F_NONE the materialized flag bits
//   FL_DST u64  first operand
//   FL_SRC u64  second operand (shift count for shifts)
import { flagsOther, REGS } from './state';

export const F_NONE = 0;  // materialized: the bits are in FL_RES
export const F_ADD = 1; export const F_SUB = 2; export const F_LOGIC = 3;
export const F_INC = 4; export const F_DEC = 5; export const F_ADC = 6; export const F_SBB = 7;
// Shifts by a non-zero masked count: dst = operand, src = count, res = result. AF reads 0
// (undefined per the SDM); OF follows SHL: MSB(result) ^ CF, SHR: MSB(operand) when count == 1
// (else 0), SAR: 0.
export const F_SHL = 8; export const F_SHR = 9; export const F_SAR = 10;

export const FL_K: usize = 0x90; export const FL_RES: usize = 0x98;
export const FL_DST: usize = 0xa0; export const FL_SRC: usize = 0xa8;
export const FK_C: u32 = 0x10000;

export const CF: u64 = 1; export const PF: u64 = 4; export const AF: u64 = 0x10;
export const ZF: u64 = 0x40; export const SF: u64 = 0x80; export const OF: u64 = 0x800;
export const ARITH: u64 = CF | PF | AF | ZF | SF | OF;
export const TF: u64 = 0x100; export const IF: u64 = 0x200; export const DF: u64 = 0x400;
export const IOPL: u64 = 0x3000; export const NT: u64 = 0x4000; export const RF: u64 = 0x10000;
export const VM: u64 = 0x20000; export const AC: u64 = 0x40000; export const ID: u64 = 0x200000;

@inline export function sizeMask(size: i32): u64 {
  return size == 8 ? 0xffffffffffffffff : ((<u64>1 << (<u64>size << 3)) - 1);
}
@inline export function signBit(size: i32): u64 { return <u64>1 << ((<u64>size << 3) - 1); }

@inline export function setLazy(op: i32, res: u64, dst: u64, src: u64, size: i32): void {
  const f = REGS;
  store<u32>(f + FL_K, <u32>op | (<u32>size << 8)); store<u64>(f + FL_RES, res);
  store<u64>(f + FL_DST, dst); store<u64>(f + FL_SRC, src);
}
// ADC/SBB (c = carry in) and INC/DEC (c = the CF they leave unchanged).
@inline export function setLazyC(op: i32, res: u64, dst: u64, src: u64, size: i32, c: bool): void {
  const f = REGS;
  store<u32>(f + FL_K, <u32>op | (<u32>size << 8) | (c ? FK_C : 0)); store<u64>(f + FL_RES, res);
  store<u64>(f + FL_DST, dst); store<u64>(f + FL_SRC, src);
}
export function setArith(bits: u64): void {
  const f = REGS;
  store<u32>(f + FL_K, F_NONE | (8 << 8)); store<u64>(f + FL_RES, bits & ARITH);
}

// ---- getters over an explicit state (k = FL_K word); exec.ts passes what it loaded ----
@inline function kSize(k: u32): i32 { return <i32>((k >> 8) & 0xff); }
export function cfOf(k: u32, res: u64, dst: u64, src: u64): bool {
  switch (<i32>(k & 0xff)) {
    case F_ADD: return res < dst;
    case F_SUB: return dst < src;
    case F_ADC: return res < dst || ((k & FK_C) != 0 && res == dst);
    case F_SBB: return dst < src || ((k & FK_C) != 0 && dst == src);
    case F_LOGIC: return false;
    case F_SHL: case F_SHR: case F_SAR: return shiftCF(<i32>(k & 0xff), dst, src, kSize(k));
    case F_INC: case F_DEC: return (k & FK_C) != 0;
    default: return (res & CF) != 0;
  }
}
export function shiftCF(op: i32, d: u64, count: u64, size: i32): bool {
  const bits = <u64>size << 3;
  if (op == F_SHL) return count <= bits && ((d >> (bits - count)) & 1) != 0;
  if (op == F_SHR) return count <= bits && ((d >> (count - 1)) & 1) != 0;
  const sh: u64 = 64 - bits;
  const sd: i64 = (<i64>(d << sh)) >> sh;
  return count <= bits ? ((sd >> <i64>(count - 1)) & 1) != 0 : sd < 0;
}
@inline export function zfOf(k: u32, res: u64): bool {
  return (k & 0xff) == F_NONE ? (res & ZF) != 0 : res == 0;
}
@inline export function sfOf(k: u32, res: u64): bool {
  return (k & 0xff) == F_NONE ? (res & SF) != 0 : (res & signBit(kSize(k))) != 0;
}
export function ofOf(k: u32, res: u64, dst: u64, src: u64): bool {
  const size = kSize(k);
  const sb = signBit(size);
  switch (<i32>(k & 0xff)) {
    case F_ADD: case F_ADC: return ((dst ^ res) & (src ^ res) & sb) != 0;
    case F_SUB: case F_SBB: return ((dst ^ src) & (dst ^ res) & sb) != 0;
    case F_INC: return res == sb;
    case F_DEC: return res == sb - 1;
    case F_LOGIC: case F_SAR: return false;
    case F_SHL: return ((res & sb) != 0) != shiftCF(F_SHL, dst, src, size);
    case F_SHR: return src == 1 && (dst & sb) != 0;
    default: return (res & OF) != 0;
  }
}
@inline export function parity(v: u64): bool { return (popcnt<u32>(<u32>v & 0xff) & 1) == 0; }
@inline export function pfOf(k: u32, res: u64): bool {
  return (k & 0xff) == F_NONE ? (res & PF) != 0 : parity(res);
}
export function afOf(k: u32, res: u64, dst: u64, src: u64): bool {
  switch (<i32>(k & 0xff)) {
    case F_NONE: return (res & AF) != 0;
    case F_LOGIC: case F_SHL: case F_SHR: case F_SAR: return false;
    case F_INC: case F_DEC: return ((dst ^ res) & 0x10) != 0;
    default: return ((dst ^ src ^ res) & 0x10) != 0;
  }
}
export function arithOf(k: u32, res: u64, dst: u64, src: u64): u64 {
  if ((k & 0xff) == F_NONE) return res;
  let f: u64 = 0;
  if (cfOf(k, res, dst, src)) f |= CF;
  if (parity(res)) f |= PF;
  if (afOf(k, res, dst, src)) f |= AF;
  if (res == 0) f |= ZF;
  if ((res & signBit(kSize(k))) != 0) f |= SF;
  if (ofOf(k, res, dst, src)) f |= OF;
  return f;
}

// Condition codes (SDM vol. 2 appendix B.1.4), with direct forms for the common CMP/TEST cases.
@inline export function condOf(cc: i32, k: u32, res: u64, dst: u64, src: u64): bool {
  let r: bool;
  const c = cc >> 1;
  const kind = <i32>(k & 0xff);
  if (kind == F_SUB) {
    if (c == 2) r = dst == src;
    else if (c == 1) r = dst < src;
    else if (c == 3) r = dst <= src;
    else if (c >= 6) {
      const sh: u64 = 64 - (<u64>kSize(k) << 3);
      const sd = (<i64>(dst << sh)) >> sh; const ss = (<i64>(src << sh)) >> sh;
      r = c == 6 ? sd < ss : sd <= ss;
    } else r = condSlow(c, k, res, dst, src);
  } else if (kind != F_NONE && c == 2) {
    r = res == 0;
  } else if (kind == F_LOGIC && c == 4) {
    r = (res & signBit(kSize(k))) != 0;
  } else r = condSlow(c, k, res, dst, src);
  return (cc & 1) != 0 ? !r : r;
}
export function condSlow(c: i32, k: u32, res: u64, dst: u64, src: u64): bool {
  switch (c) {
    case 0: return ofOf(k, res, dst, src);
    case 1: return cfOf(k, res, dst, src);
    case 2: return zfOf(k, res);
    case 3: return cfOf(k, res, dst, src) || zfOf(k, res);
    case 4: return sfOf(k, res);
    case 5: return pfOf(k, res);
    case 6: return sfOf(k, res) != ofOf(k, res, dst, src);
    default: return zfOf(k, res) || (sfOf(k, res) != ofOf(k, res, dst, src));
  }
}

// ---- the current flags ----
@inline function curK(): u32 { return load<u32>(REGS + FL_K); }
@inline function curRes(): u64 { return load<u64>(REGS + FL_RES); }
@inline function curDst(): u64 { return load<u64>(REGS + FL_DST); }
@inline function curSrc(): u64 { return load<u64>(REGS + FL_SRC); }
export function getCF(): bool { return cfOf(curK(), curRes(), curDst(), curSrc()); }
export function getZF(): bool { return zfOf(curK(), curRes()); }
export function getSF(): bool { return sfOf(curK(), curRes()); }
export function getOF(): bool { return ofOf(curK(), curRes(), curDst(), curSrc()); }
export function getPF(): bool { return pfOf(curK(), curRes()); }
export function getAF(): bool { return afOf(curK(), curRes(), curDst(), curSrc()); }
export function arithFlags(): u64 { return arithOf(curK(), curRes(), curDst(), curSrc()); }
export function materialize(): void { setArith(arithFlags()); }
export function cond(cc: i32): bool { return condOf(cc, curK(), curRes(), curDst(), curSrc()); }

export function getRflags(): u64 { return (flagsOther & ~ARITH) | arithFlags() | 2; }
export function setRflagsAll(v: u64): void {
  flagsOther = (v & ~ARITH) | 2;
  setArith(v & ARITH);
}
