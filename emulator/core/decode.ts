// Instruction fetch, prefix state and ModRM/SIB decoding (SDM vol. 2 ch. 2).
import {
  REGS, rip, mode64, defOp, defAd, linMask, segEbase, reg64, CS, SS, DS,
} from './state';
import { readLin, writeLin, readLinRmw, writeLinRmw, translateCode, tlbEpoch, accShift, raiseUD, accSeg } from './mem';

// ---- prefix state of the current instruction ----
export let pOp: i32 = 4;      // operand size in bytes (2, 4, 8)
export let pAd: i32 = 4;      // address size in bytes
export let pRex: i32 = 0;     // REX byte (0 when absent)
export let pRep: i32 = 0;     // 0, 0xF2 or 0xF3
export let pSeg: i32 = -1;    // segment override or -1
export let pLock: bool = false;
export let p66: bool = false; // operand-size prefix seen (SSE uses it as a mandatory prefix)

// ---- ModRM state ----
export let mMod: i32 = 0;
export let mReg: i32 = 0;     // ModRM.reg extended by REX.R
export let mRm: i32 = 0;      // ModRM.rm extended by REX.B (register form)
export let mEa: u64 = 0;      // effective address (memory form), already masked to pAd
export let mSeg: i32 = DS;    // segment of the memory operand
export let mBaseRsp: bool = false; // the base register is RSP (POP [rsp] needs this)

// ---- instruction fetch ----
// A cursor into host memory for the code page holding RIP: fPos is the host address of the
// next byte, fEnd the end of that page. step() revalidates it once per instruction
// (syncFetch); within an instruction each byte costs one bounds check.
let fPos: usize = 0;
let fEnd: usize = 0;
let fPageRip: u64 = 0xffffffffffffffff; // RIP at the start of the cached page
let fPageHost: usize = 0;
let fEpoch: u32 = 0xffffffff;
let fValid: bool = false;

export function invalidateFetch(): void { fValid = false; fEnd = 0; }

// Points the cursor at RIP; called at the start of every instruction.
@inline export function syncFetch(): void {
  const d = rip - fPageRip;
  if (d < 4096 && fEpoch == tlbEpoch && fValid) { fPos = fPageHost + <usize>d; return; }
  refill();
}

function refill(): void {
  const lin = (segEbase(CS) + rip) & linMask;
  fPageHost = translateCode(lin);
  const off = <usize>lin & 0xfff;
  fPageRip = rip - <u64>off;
  fPos = fPageHost + off;
  fEnd = fPageHost + 4096;
  fEpoch = tlbEpoch;
  fValid = true;
}

// The instruction continues on the next page: move the cursor there.
function nextPage(): void {
  const lin = (segEbase(CS) + rip) & linMask;
  const h = translateCode(lin);
  const off = <usize>lin & 0xfff;
  fPos = h + off;
  fEnd = h + 4096;
  // The cached page no longer matches the cursor; make the next syncFetch refill.
  fValid = false;
}

export function fetch8(): u32 {
  if (fPos >= fEnd) nextPage();
  rip++;
  const v = <u32>load<u8>(fPos);
  fPos++;
  return v;
}
export function fetch16(): u32 {
  if (fPos + 2 > fEnd) return fetch8() | (fetch8() << 8);
  rip += 2;
  const v = <u32>load<u16>(fPos);
  fPos += 2;
  return v;
}
export function fetch32(): u32 {
  if (fPos + 4 > fEnd) return fetch16() | (fetch16() << 16);
  rip += 4;
  const v = load<u32>(fPos);
  fPos += 4;
  return v;
}
export function fetch64(): u64 {
  if (fPos + 8 > fEnd) return <u64>fetch32() | (<u64>fetch32() << 32);
  rip += 8;
  const v = load<u64>(fPos);
  fPos += 8;
  return v;
}
// Immediate of the operand size, sign-extended to 64 bits for 8-byte operands (Iz).
export function fetchImmZ(size: i32): u64 {
  if (size == 2) return <u64>fetch16();
  const v = fetch32();
  if (size == 8) return <u64><i64><i32>v;
  return <u64>v;
}
// Sign-extended imm8, masked to the operand size.
export function fetchImm8s(size: i32): u64 {
  const v = <u64><i64><i8>fetch8();
  return size == 8 ? v : v & ((<u64>1 << (<u64>size << 3)) - 1);
}

export function resetPrefixes(): void {
  pOp = defOp; pAd = defAd; pRex = 0; pRep = 0; pSeg = -1; pLock = false; p66 = false;
}
export function setOp(v: i32): void { pOp = v; }
export function setAd(v: i32): void { pAd = v; }
export function setRex(v: i32): void { pRex = v; }
export function setRep(v: i32): void { pRep = v; }
export function setSegOverride(v: i32): void { pSeg = v; }
export function setLock(): void { pLock = true; }
export function set66(): void { p66 = true; }

// ---- ModRM / SIB ----
// immBytes: size of the immediate that follows, needed for RIP-relative addressing.
// -1 / -2: group 3 (F6 / F7), where only /0 and /1 (TEST) carry an immediate.
export function decodeModrm(immBytes: i32): void {
  const m = fetch8();
  mMod = <i32>(m >> 6);
  mReg = <i32>((m >> 3) & 7) | ((pRex & 4) << 1);
  if (immBytes < 0) immBytes = (mReg & 6) != 0 ? 0 : (immBytes == -1 ? 1 : (pOp == 2 ? 2 : 4));
  const rm = <i32>(m & 7);
  if (mMod == 3) { mRm = rm | ((pRex & 1) << 3); return; }
  mBaseRsp = false;
  if (pAd == 2) { decode16(rm); return; }
  let ea: u64 = 0;
  let seg = DS;
  let base = rm;
  if (rm == 4) {
    const sib = fetch8();
    const scale = <u64>(sib >> 6);
    const index = <i32>((sib >> 3) & 7) | ((pRex & 2) << 2);
    base = <i32>(sib & 7);
    if (index != 4) ea = reg64(index) << scale;
    if (base == 5 && mMod == 0) {
      ea += <u64><i64><i32>fetch32();
    } else {
      const b = base | ((pRex & 1) << 3);
      ea += reg64(b);
      mBaseRsp = b == 4;
      if (base == 4 || base == 5) seg = SS;
    }
  } else if (rm == 5 && mMod == 0) {
    const disp = <u64><i64><i32>fetch32();
    if (mode64) ea = rip + <u64>immBytes + disp; // RIP-relative: relative to the next instruction
    else ea = disp;
  } else {
    ea = reg64(rm | ((pRex & 1) << 3));
    if (rm == 5) seg = SS;
  }
  if (mMod == 1) ea += <u64><i64><i8>fetch8();
  else if (mMod == 2) ea += <u64><i64><i32>fetch32();
  if (pAd == 4) ea &= 0xffffffff;
  mEa = ea;
  mSeg = pSeg >= 0 ? pSeg : seg;
}

function decode16(rm: i32): void {
  let ea: u32 = 0;
  let seg = DS;
  switch (rm) {
    case 0: ea = <u32>reg64(3) + <u32>reg64(6); break;           // BX+SI
    case 1: ea = <u32>reg64(3) + <u32>reg64(7); break;           // BX+DI
    case 2: ea = <u32>reg64(5) + <u32>reg64(6); seg = SS; break; // BP+SI
    case 3: ea = <u32>reg64(5) + <u32>reg64(7); seg = SS; break; // BP+DI
    case 4: ea = <u32>reg64(6); break;
    case 5: ea = <u32>reg64(7); break;
    case 6:
      if (mMod == 0) ea = fetch16();
      else { ea = <u32>reg64(5); seg = SS; }
      break;
    default: ea = <u32>reg64(3); break;
  }
  if (mMod == 1) ea += <u32><i32><i8>fetch8();
  else if (mMod == 2) ea += fetch16();
  mEa = <u64>(ea & 0xffff);
  mSeg = pSeg >= 0 ? pSeg : seg;
}

@inline export function linOf(seg: i32, ea: u64): u64 { accSeg = seg; return (segEbase(seg) + ea) & linMask; }
@inline export function mLin(): u64 { accSeg = mSeg; return (segEbase(mSeg) + mEa) & linMask; }

// ---- registers by operand size ----
export function getReg(r: i32, size: i32): u64 {
  const p = REGS + (<usize>r << 3);
  if (size == 4) return <u64>load<u32>(p);
  if (size == 8) return load<u64>(p);
  if (size == 2) return <u64>load<u16>(p);
  if (pRex == 0 && r >= 4 && r < 8) return <u64>load<u8>(REGS + (<usize>(r - 4) << 3), 1); // AH CH DH BH
  return <u64>load<u8>(p);
}
export function setReg(r: i32, size: i32, v: u64): void {
  const p = REGS + (<usize>r << 3);
  if (size == 4) store<u64>(p, v & 0xffffffff);   // 32-bit writes zero-extend (SDM vol. 1 s3.4.1.1)
  else if (size == 8) store<u64>(p, v);
  else if (size == 2) store<u16>(p, <u16>v);
  else if (pRex == 0 && r >= 4 && r < 8) store<u8>(REGS + (<usize>(r - 4) << 3), <u8>v, 1);
  else store<u8>(p, <u8>v);
}

// ---- ModRM operands ----
export function readE(size: i32): u64 {
  if (mMod == 3) return getReg(mRm, size);
  return readLin(mLin(), size);
}
export function writeE(size: i32, v: u64): void {
  if (mMod == 3) setReg(mRm, size, v);
  else writeLin(mLin(), size, v);
}
// Read-modify-write pair: the memory form checks write access before anything is written.
export function readERmw(size: i32): u64 {
  if (mMod == 3) { if (pLock) raiseUD(); return getReg(mRm, size); }
  return readLinRmw(mLin(), size);
}
export function writeERmw(size: i32, v: u64): void {
  if (mMod == 3) setReg(mRm, size, v);
  else writeLinRmw(size, v);
}
@inline export function readG(size: i32): u64 { return getReg(mReg, size); }
@inline export function writeG(size: i32, v: u64): void { setReg(mReg, size, v); }
