// Lazy arithmetic flags: the last flag-setting operation is recorded (kind, operands,
// result, size) and CF/PF/AF/ZF/SF/OF are computed only when something reads them.
// Values are stored already masked to the operand size.
import { flagsOther } from './state';

export const F_NONE = 0;  // materialized: bits live in `arith`
export const F_ADD = 1; export const F_SUB = 2; export const F_LOGIC = 3;
export const F_INC = 4; export const F_DEC = 5; export const F_ADC = 6; export const F_SBB = 7;

export const CF: u64 = 1; export const PF: u64 = 4; export const AF: u64 = 0x10;
export const ZF: u64 = 0x40; export const SF: u64 = 0x80; export const OF: u64 = 0x800;
export const ARITH: u64 = CF | PF | AF | ZF | SF | OF;
export const TF: u64 = 0x100; export const IF: u64 = 0x200; export const DF: u64 = 0x400;
export const IOPL: u64 = 0x3000; export const NT: u64 = 0x4000; export const RF: u64 = 0x10000;
export const VM: u64 = 0x20000; export const AC: u64 = 0x40000; export const ID: u64 = 0x200000;

export let lfOp: i32 = F_NONE;
export let lfRes: u64 = 0;
export let lfDst: u64 = 0;
export let lfSrc: u64 = 0;
export let lfSize: i32 = 4;
export let lfCin: u64 = 0;
export let arith: u64 = 0;   // materialized arithmetic flags (F_NONE), and CF for INC/DEC

@inline export function sizeMask(size: i32): u64 {
  return size == 8 ? 0xffffffffffffffff : ((<u64>1 << (<u64>size << 3)) - 1);
}
@inline export function signBit(size: i32): u64 { return <u64>1 << ((<u64>size << 3) - 1); }

@inline export function setLazy(op: i32, res: u64, dst: u64, src: u64, size: i32): void {
  lfOp = op; lfRes = res; lfDst = dst; lfSrc = src; lfSize = size;
}
export function setArith(bits: u64): void { lfOp = F_NONE; arith = bits & ARITH; }

export function getCF(): bool {
  switch (lfOp) {
    case F_ADD: return lfRes < lfDst;
    case F_SUB: return lfDst < lfSrc;
    case F_ADC: return lfRes < lfDst || (lfCin != 0 && lfRes == lfDst);
    case F_SBB: return lfDst < lfSrc || (lfCin != 0 && lfDst == lfSrc);
    case F_LOGIC: return false;
    default: return (arith & CF) != 0;
  }
}
@inline export function getZF(): bool {
  if (lfOp == F_NONE) return (arith & ZF) != 0;
  return lfRes == 0;
}
@inline export function getSF(): bool {
  if (lfOp == F_NONE) return (arith & SF) != 0;
  return (lfRes & signBit(lfSize)) != 0;
}
export function getOF(): bool {
  const sb = signBit(lfSize);
  switch (lfOp) {
    case F_ADD: case F_ADC: return ((lfDst ^ lfRes) & (lfSrc ^ lfRes) & sb) != 0;
    case F_SUB: case F_SBB: return ((lfDst ^ lfSrc) & (lfDst ^ lfRes) & sb) != 0;
    case F_INC: return lfRes == sb;
    case F_DEC: return lfRes == sb - 1;
    case F_LOGIC: return false;
    default: return (arith & OF) != 0;
  }
}
@inline export function parity(v: u64): bool { return (popcnt<u32>(<u32>v & 0xff) & 1) == 0; }
export function getPF(): bool {
  if (lfOp == F_NONE) return (arith & PF) != 0;
  return parity(lfRes);
}
export function getAF(): bool {
  switch (lfOp) {
    case F_NONE: return (arith & AF) != 0;
    case F_LOGIC: return false;
    case F_INC: case F_DEC: return ((lfDst ^ lfRes) & 0x10) != 0;
    default: return ((lfDst ^ lfSrc ^ lfRes) & 0x10) != 0;
  }
}

export function arithFlags(): u64 {
  if (lfOp == F_NONE) return arith;
  let f: u64 = 0;
  if (getCF()) f |= CF;
  if (getPF()) f |= PF;
  if (getAF()) f |= AF;
  if (getZF()) f |= ZF;
  if (getSF()) f |= SF;
  if (getOF()) f |= OF;
  return f;
}
export function materialize(): void { const f = arithFlags(); lfOp = F_NONE; arith = f; }

export function getRflags(): u64 { return (flagsOther & ~ARITH) | arithFlags() | 2; }
export function setRflagsAll(v: u64): void {
  flagsOther = (v & ~ARITH) | 2;
  lfOp = F_NONE; arith = v & ARITH;
}

// Condition codes (SDM vol. 2 appendix B.1.4), with direct forms for the common CMP/TEST cases.
export function cond(cc: i32): bool {
  let r: bool;
  const op = lfOp;
  if (op == F_SUB) {
    const d = lfDst; const s = lfSrc;
    switch (cc >> 1) {
      case 1: r = d < s; return (cc & 1) ? !r : r;
      case 2: r = d == s; return (cc & 1) ? !r : r;
      case 3: r = d <= s; return (cc & 1) ? !r : r;
      case 6: case 7: {
        const sh: u64 = 64 - (<u64>lfSize << 3);
        const sd = (<i64>(d << sh)) >> sh; const ss = (<i64>(s << sh)) >> sh;
        r = (cc >> 1) == 6 ? sd < ss : sd <= ss;
        return (cc & 1) ? !r : r;
      }
      default: break;
    }
  } else if (op == F_LOGIC) {
    const res = lfRes;
    switch (cc >> 1) {
      case 2: r = res == 0; return (cc & 1) ? !r : r;
      case 4: r = (res & signBit(lfSize)) != 0; return (cc & 1) ? !r : r;
      default: break;
    }
  }
  switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = getCF(); break;
    case 2: r = getZF(); break;
    case 3: r = getCF() || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = getPF(); break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || (getSF() != getOF()); break;
  }
  return (cc & 1) ? !r : r;
}
