// The interpreter: one x86 instruction per step(), decoded and executed in place.
import {
  REGS, rip, startRip, mode64, protMode, cpl, linMask, stackSize, flagsOther, rawExceptions,
  exitReason, excVector, excError, excHasError, EXIT_EXCEPTION, EXIT_HLT, exitRequested, halted,
  intShadow, reg64, setReg64, defOp, defAd, DREGS, segEbase, segSel, CS, SS, DS, ES, FS, GS, cr0, cr4, icount, insnLimit,
} from './state';
import { readLin, writeLin, readLinRmw, writeLinRmw, raise, raiseGP, raiseUD, probeWrite } from './mem';
import {
  pOp, pAd, pRex, pRep, pSeg, pLock, mMod, mReg, mRm, mEa, mSeg, mBaseRsp,
  fetch8, fetch16, fetch32, fetch64, fetchImmZ, fetchImm8s, resetPrefixes, decodeModrm, syncFetch,
  getReg, setReg, readE, writeE, readERmw, writeERmw, readG, writeG, mLin, linOf,
  setOp, setAd, setRex, setRep, setSegOverride, setLock, set66,
} from './decode';
import {
  F_INC, F_DEC, F_LOGIC, F_SUB, setLazy, setArith, sizeMask, signBit, getCF, getZF, getSF, getOF,
  setLazyC, F_NONE, arithFlags, cond, getRflags, CF, ZF, SF, OF, PF, AF, ARITH, TF, IF, DF, IOPL,
  NT, RF, VM, AC, ID, materialize,
} from './flags';
import { alu, shift, shiftDouble, umulh, smulh, mulFlags, udiv128, sdiv128, divQ, divR, resultFlags } from './alu';
import {
  loadSeg, farJump, farCall, farReturn, iret, softInt, syscallInsn, sysretInsn, movToCr, movFromCr,
  rdmsrInsn, wrmsrInsn, cpuidInsn, group6, group7, ioAllowed, readTsc, lar, lsl,
} from './system';
import { execSse, fxsave, fxrstor, ldmxcsr, stmxcsr } from './sse';

const REP_CHUNK: i32 = 4096; // REP iterations per step; the instruction restarts until done

// ---- stack ----
export function push(v: u64, size: i32): void {
  const sp = reg64(4);
  let nsp: u64 = sp - <u64>size;
  if (stackSize == 4) nsp &= 0xffffffff;
  else if (stackSize == 2) nsp = (sp & ~0xffff) | (nsp & 0xffff);
  writeLin(linOf(SS, stackSize == 2 ? nsp & 0xffff : nsp), size, v);
  setReg64(4, nsp);
}
export function pop(size: i32): u64 {
  const sp = reg64(4);
  const v = readLin(linOf(SS, stackSize == 2 ? sp & 0xffff : (stackSize == 4 ? sp & 0xffffffff : sp)), size);
  let nsp: u64 = sp + <u64>size;
  if (stackSize == 4) nsp &= 0xffffffff;
  else if (stackSize == 2) nsp = (sp & ~0xffff) | (nsp & 0xffff);
  setReg64(4, nsp);
  return v;
}
// Read the stack at offset without popping (for multi-pop instructions that must not commit early).
export function peek(offset: u64, size: i32): u64 {
  let sp = reg64(4) + offset;
  if (stackSize == 4) sp &= 0xffffffff; else if (stackSize == 2) sp &= 0xffff;
  return readLin(linOf(SS, sp), size);
}
export function adjustSp(delta: u64): void {
  const sp = reg64(4);
  let nsp = sp + delta;
  if (stackSize == 4) nsp &= 0xffffffff;
  else if (stackSize == 2) nsp = (sp & ~0xffff) | (nsp & 0xffff);
  setReg64(4, nsp);
}

// Near branch target with operand-size truncation outside 64-bit mode.
@inline function branch(target: u64): void {
  if (mode64) rip = target;
  else rip = pOp == 2 ? target & 0xffff : target & 0xffffffff;
}
@inline function countReg(): u64 {
  const c = reg64(1);
  return pAd == 8 ? c : (pAd == 4 ? c & 0xffffffff : c & 0xffff);
}
@inline function setCount(v: u64): void {
  if (pAd == 8) setReg64(1, v);
  else if (pAd == 4) setReg64(1, v & 0xffffffff);
  else store<u16>(REGS + 8, <u16>v);
}
@inline function addrReg(r: i32): u64 {
  const v = reg64(r);
  return pAd == 8 ? v : (pAd == 4 ? v & 0xffffffff : v & 0xffff);
}
@inline function setAddrReg(r: i32, v: u64): void {
  if (pAd == 8) setReg64(r, v);
  else if (pAd == 4) setReg64(r, v & 0xffffffff);
  else store<u16>(REGS + (<usize>r << 3), <u16>v);
}

// Software traps in raw mode stop the run after the instruction (RIP after it).
function trapOrInt(vector: i32): void {
  if (rawExceptions) {
    excVector = vector; excError = 0; excHasError = false;
    exitReason = EXIT_EXCEPTION; exitRequested = true;
    return;
  }
  softInt(vector, 1);
}

function popfInsn(size: i32): void {
  const v = pop(size);
  let mask: u64 = CF | PF | AF | ZF | SF | TF | DF | OF | NT;
  if (size >= 4) mask |= AC | ID;
  const iopl = <i32>((flagsOther >> 12) & 3);
  if (!protMode || cpl == 0) mask |= IOPL | IF;
  else if (cpl <= iopl) mask |= IF;
  const cur = getRflags();
  let nf = (cur & ~mask) | (v & mask);
  nf &= ~RF;
  flagsOther = (nf & ~ARITH) | 2;
  setArith(nf & ARITH);
}

// ---- string instructions (SDM vol. 2 "MOVS", "REP/REPE/REPNE") ----
function strSeg(): i32 { return pSeg >= 0 ? pSeg : DS; }

function stringOp(op: i32, size: i32): void {
  const step: u64 = (flagsOther & DF) != 0 ? <u64>(-size) : <u64>size;
  const rep = pRep != 0;
  let n = rep ? countReg() : 1;
  if (n == 0) return;
  let iters = 0;
  // Each iteration retires as one instruction: stop at the run's budget (the caller counts the
  // first one), and at REP_CHUNK so that time advances and interrupts get in.
  let chunk = REP_CHUNK;
  if (insnLimit > icount && insnLimit - icount < <u64>chunk) chunk = <i32>(insnLimit - icount);
  while (n != 0) {
    switch (op) {
      case 0: { // MOVS
        const v = readLin(linOf(strSeg(), addrReg(6)), size);
        writeLin(linOf(ES, addrReg(7)), size, v);
        setAddrReg(6, addrReg(6) + step); setAddrReg(7, addrReg(7) + step);
        break;
      }
      case 1: { // STOS
        writeLin(linOf(ES, addrReg(7)), size, getReg(0, size));
        setAddrReg(7, addrReg(7) + step);
        break;
      }
      case 2: { // LODS
        const v = readLin(linOf(strSeg(), addrReg(6)), size);
        setReg(0, size, v);
        setAddrReg(6, addrReg(6) + step);
        break;
      }
      case 3: { // CMPS: compares [rsi] with [rdi] (flags of src - dst)
        const a = readLin(linOf(strSeg(), addrReg(6)), size);
        const b = readLin(linOf(ES, addrReg(7)), size);
        alu(7, size, a, b);
        setAddrReg(6, addrReg(6) + step); setAddrReg(7, addrReg(7) + step);
        break;
      }
      case 4: { // SCAS
        const b = readLin(linOf(ES, addrReg(7)), size);
        alu(7, size, getReg(0, size), b);
        setAddrReg(7, addrReg(7) + step);
        break;
      }
      case 5: { // INS
        if (!ioAllowed(<i32>(reg64(2) & 0xffff), size)) { raiseGP(0); return; }
        probeWrite(linOf(ES, addrReg(7)));
        const v = ioIn(<i32>(reg64(2) & 0xffff), size);
        writeLin(linOf(ES, addrReg(7)), size, v);
        setAddrReg(7, addrReg(7) + step);
        break;
      }
      default: { // OUTS
        if (!ioAllowed(<i32>(reg64(2) & 0xffff), size)) { raiseGP(0); return; }
        const v = readLin(linOf(strSeg(), addrReg(6)), size);
        ioOut(<i32>(reg64(2) & 0xffff), size, v);
        setAddrReg(6, addrReg(6) + step);
        break;
      }
    }
    if (!rep) return;
    n--;
    setCount(n);
    iters++;
    if (op == 3 || op == 4) {
      const z = getZF();
      if (pRep == 0xf3 && !z) return;   // REPE stops on mismatch
      if (pRep == 0xf2 && z) return;    // REPNE stops on match
    }
    if (n != 0 && iters >= chunk) {
      // Restart this instruction later (SDM vol. 2 "REP": interruptible).
      icount += <u64>(iters - 1);
      rip = startRip;
      return;
    }
  }
  icount += <u64>(iters - 1);
}

import { pioRead, pioWrite } from './imports';
function ioIn(port: i32, size: i32): u64 { return <u64><u32>pioRead(port, size) & sizeMask(size); }
function ioOut(port: i32, size: i32, v: u64): void { pioWrite(port, size, <i32>v); }

// ---- group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV ----
function group3(size: i32): void {
  const m = sizeMask(size);
  switch (mReg & 7) {
    case 0: case 1: { const v = readE(size); alu(4, size, v, (size == 1 ? <u64>fetch8() : fetchImmZ(size)) & m); return; }
    case 2: { const v = readERmw(size); writeERmw(size, ~v & m); return; }
    case 3: { const v = readERmw(size); const r = alu(5, size, 0, v); writeERmw(size, r); return; }
    case 4: { // MUL
      const s = readE(size);
      if (size == 1) {
        const r = (reg64(0) & 0xff) * s;
        store<u16>(REGS, <u16>r); mulFlags(r & 0xff, 1, (r >> 8) != 0);
      } else if (size == 8) {
        const a = reg64(0);
        const lo = a * s; const hi = umulh(a, s);
        setReg64(0, lo); setReg64(2, hi); mulFlags(lo, 8, hi != 0);
      } else {
        const r = (reg64(0) & m) * s;
        const bits: u64 = <u64>size << 3;
        setReg(0, size, r & m); setReg(2, size, r >> bits); mulFlags(r & m, size, (r >> bits) != 0);
      }
      return;
    }
    case 5: { // IMUL (one operand)
      const s = readE(size);
      if (size == 8) {
        const a = reg64(0);
        const lo = a * s; const hi = smulh(a, s);
        setReg64(0, lo); setReg64(2, hi);
        mulFlags(lo, 8, hi != <u64>(<i64>lo >> 63));
      } else {
        const bits: u64 = <u64>size << 3;
        const sh: u64 = 64 - bits;
        const a = <i64>(reg64(0) << sh) >> sh;
        const b = <i64>(s << sh) >> sh;
        const r = a * b;
        const lo = <u64>r & m;
        const fits = ((<i64>(<u64>r << sh)) >> sh) == r;
        if (size == 1) store<u16>(REGS, <u16>r);
        else { setReg(0, size, lo); setReg(2, size, (<u64>r >> bits) & m); }
        mulFlags(lo, size, !fits);
      }
      return;
    }
    case 6: { // DIV
      const s = readE(size);
      if (size == 1) {
        const a = reg64(0) & 0xffff;
        if (s == 0 || a / s > 0xff) { raise(0, 0, false); return; }
        store<u8>(REGS, <u8>(a / s)); store<u8>(REGS, <u8>(a % s), 1);
      } else if (size == 8) {
        if (!udiv128(reg64(2), reg64(0), s)) { raise(0, 0, false); return; }
        setReg64(0, divQ); setReg64(2, divR);
      } else {
        const bits: u64 = <u64>size << 3;
        const a = ((reg64(2) & m) << bits) | (reg64(0) & m);
        if (s == 0 || a / s > m) { raise(0, 0, false); return; }
        setReg(0, size, a / s); setReg(2, size, a % s);
      }
      return;
    }
    default: { // IDIV
      const s = readE(size);
      if (size == 8) {
        if (!sdiv128(reg64(2), reg64(0), s)) { raise(0, 0, false); return; }
        setReg64(0, divQ); setReg64(2, divR);
        return;
      }
      const bits: u64 = <u64>size << 3;
      const sh: u64 = 64 - bits;
      const d = <i64>(s << sh) >> sh;
      if (d == 0) { raise(0, 0, false); return; }
      let a: i64;
      if (size == 1) a = <i64><i16>(<u16>reg64(0));
      else if (size == 2) a = <i64><i32>(<u32>(((reg64(2) & 0xffff) << 16) | (reg64(0) & 0xffff)));
      else a = <i64>(((reg64(2) & 0xffffffff) << 32) | (reg64(0) & 0xffffffff));
      const q = a / d; const r = a % d;
      const lim: i64 = <i64>1 << <i64>(bits - 1);
      if (q >= lim || q < -lim) { raise(0, 0, false); return; }
      if (size == 1) { store<u8>(REGS, <u8>q); store<u8>(REGS, <u8>r, 1); }
      else { setReg(0, size, <u64>q & m); setReg(2, size, <u64>r & m); }
      return;
    }
  }
}

// Bit test family. op: 0 BT 1 BTS 2 BTR 3 BTC. CF = the bit; ZF kept; others undefined.
function bitOp(op: i32, size: i32, offset: u64, regOffset: bool): void {
  const bits: u64 = <u64>size << 3;
  let v: u64; let bit: u64;
  if (mMod == 3) {
    bit = offset & (bits - 1);
    v = getReg(mRm, size);
  } else {
    let ea = mEa;
    if (regOffset) {
      // Register bit offsets address memory beyond the operand (signed, SDM vol. 2 "BT").
      const sh: u64 = 64 - bits;
      const so = <i64>(offset << sh) >> sh;
      ea += <u64>((so >> <i64>(size == 8 ? 6 : (size == 4 ? 5 : 4))) * <i64>size);
      if (pAd == 4) ea &= 0xffffffff; else if (pAd == 2) ea &= 0xffff;
    }
    bit = offset & (bits - 1);
    const lin = linOf(mSeg, ea);
    v = op == 0 ? readLin(lin, size) : readLinRmw(lin, size);
  }
  const cf: u64 = (v >> bit) & 1;
  let nv = v;
  if (op == 1) nv = v | (<u64>1 << bit);
  else if (op == 2) nv = v & ~(<u64>1 << bit);
  else if (op == 3) nv = v ^ (<u64>1 << bit);
  if (op != 0) {
    if (mMod == 3) setReg(mRm, size, nv); else writeLinRmw(size, nv);
  }
  const f = arithFlags();
  setArith((f & ~CF) | cf);
}

function cmpxchg(size: i32): void {
  const d = readERmw(size);
  const a = getReg(0, size);
  alu(7, size, a, d);
  if (a == d) writeERmw(size, readG(size));
  else {
    if (mMod != 3) writeERmw(size, d); // the destination is always written (locked cycle)
    setReg(0, size, d);
  }
}

function cmpxchg8b16b(): void {
  if (mMod == 3) { raiseUD(); return; }
  const wide = (pRex & 8) != 0;
  const lin = mLin();
  if (wide) {
    if ((lin & 15) != 0) { raiseGP(0); return; }
    probeWrite(lin); probeWrite(lin + 15);
    const lo = readLin(lin, 8); const hi = readLin(lin + 8, 8);
    const f = arithFlags();
    if (lo == reg64(0) && hi == reg64(2)) {
      writeLin(lin, 8, reg64(3)); writeLin(lin + 8, 8, reg64(1));
      setArith(f | ZF);
    } else {
      writeLin(lin, 8, lo); writeLin(lin + 8, 8, hi);
      setReg64(0, lo); setReg64(2, hi);
      setArith(f & ~ZF);
    }
  } else {
    const v = readLinRmw(lin, 8);
    const f = arithFlags();
    const cur = ((reg64(2) & 0xffffffff) << 32) | (reg64(0) & 0xffffffff);
    if (v == cur) {
      writeLinRmw(8, ((reg64(1) & 0xffffffff) << 32) | (reg64(3) & 0xffffffff));
      setArith(f | ZF);
    } else {
      writeLinRmw(8, v);
      setReg(0, 4, v & 0xffffffff); setReg(2, 4, v >> 32);
      setArith(f & ~ZF);
    }
  }
}

function enter(): void {
  const alloc = <u64>fetch16();
  const level = fetch8() & 31;
  const size = mode64 ? (pOp == 2 ? 2 : 8) : pOp;
  const bp = getReg(5, mode64 ? 8 : (stackSize == 2 ? 2 : 4));
  push(getReg(5, size), size);
  let frame = reg64(4);
  if (stackSize == 4) frame &= 0xffffffff; else if (stackSize == 2) frame &= 0xffff;
  if (level > 0) {
    let b = bp;
    for (let i: u32 = 1; i < level; i++) {
      b -= <u64>size;
      const sb = stackSize == 8 ? b : (stackSize == 4 ? b & 0xffffffff : b & 0xffff);
      push(readLin(linOf(SS, sb), size), size);
    }
    push(frame, size);
  }
  // Check the allocated frame is writable before committing RBP/RSP (fault leaves state intact).
  let nsp = reg64(4) - alloc;
  if (stackSize == 4) nsp &= 0xffffffff; else if (stackSize == 2) nsp = (reg64(4) & ~0xffff) | (nsp & 0xffff);
  setReg(5, size, frame);
  setReg64(4, nsp);
}

function leave(): void {
  const size = mode64 ? (pOp == 2 ? 2 : 8) : pOp;
  const bp = reg64(5);
  const sbp = stackSize == 8 ? bp : (stackSize == 4 ? bp & 0xffffffff : bp & 0xffff);
  const v = readLin(linOf(SS, sbp), size);
  let nsp = sbp + <u64>size;
  if (stackSize == 2) nsp = (reg64(4) & ~0xffff) | (nsp & 0xffff);
  else if (stackSize == 4) nsp &= 0xffffffff;
  setReg64(4, nsp);
  setReg(5, size, v);
}

@inline function undefIn64(): void { if (mode64) raiseUD(); }

// ---- two-byte opcodes (0F xx) ----
function step0F(): void {
  const b = fetch8();
  if (pLock && !lockable0F(b)) { raiseUD(); return; }
  const size = pOp;
  switch (b) {
    case 0x00: decodeModrm(0); group6(); return;
    case 0x01: decodeModrm(0); group7(); return;
    case 0x02: decodeModrm(0); lar(size); return;
    case 0x03: decodeModrm(0); lsl(size); return;
    case 0x05: syscallInsn(); return;
    case 0x06: if (cpl != 0) { raiseGP(0); return; } cr0 &= ~(<u64>8); return; // CLTS
    case 0x07: sysretInsn(); return;
    case 0x08: case 0x09: if (cpl != 0) raiseGP(0); return; // INVD, WBINVD
    case 0x0b: raiseUD(); return; // UD2
    case 0x0d: decodeModrm(0); return; // PREFETCHW: hint
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      decodeModrm(0); return; // hint NOPs, prefetch, multi-byte NOP (0F 1F /0)
    case 0x20: case 0x22: {
      decodeModrm(0);
      if (cpl != 0) { raiseGP(0); return; }
      let n = mReg;
      if (b == 0x20) setReg64(mRm, mode64 ? movFromCr(n) : movFromCr(n) & 0xffffffff);
      else movToCr(n, mode64 ? reg64(mRm) : reg64(mRm) & 0xffffffff);
      return;
    }
    case 0x21: case 0x23: { // MOV DRn: debug registers are stored but do nothing
      decodeModrm(0);
      if (cpl != 0) { raiseGP(0); return; }
      const p: usize = DREGS + (<usize>(mReg & 7) << 3);
      if (b == 0x21) setReg64(mRm, load<u64>(p)); else store<u64>(p, reg64(mRm));
      return;
    }
    case 0x30: wrmsrInsn(); return;
    case 0x31: { // RDTSC
      if ((cr4 & 4) != 0 && cpl != 0 && protMode) { raiseGP(0); return; }
      const t = readTsc();
      setReg64(0, t & 0xffffffff); setReg64(2, t >> 32);
      return;
    }
    case 0x32: rdmsrInsn(); return;
    case 0xa2: cpuidInsn(); return;
    case 0x0e: case 0x77: return; // FEMMS / EMMS: no MMX state to clear
    case 0xa0: push(<u64>segSel(FS), mode64 ? (size == 2 ? 2 : 8) : size); return;
    case 0xa8: push(<u64>segSel(GS), mode64 ? (size == 2 ? 2 : 8) : size); return;
    case 0xa1: case 0xa9: {
      const sz = mode64 ? (size == 2 ? 2 : 8) : size;
      const sel = <u32>peek(0, sz) & 0xffff;
      loadSeg(b == 0xa1 ? FS : GS, sel);
      adjustSp(<u64>sz);
      return;
    }
    case 0xa3: decodeModrm(0); bitOp(0, size, readG(size), true); return;
    case 0xab: decodeModrm(0); bitOp(1, size, readG(size), true); return;
    case 0xb3: decodeModrm(0); bitOp(2, size, readG(size), true); return;
    case 0xbb: decodeModrm(0); bitOp(3, size, readG(size), true); return;
    case 0xba: {
      decodeModrm(1);
      const imm = <u64>fetch8();
      const op = mReg & 7;
      if (op < 4) { raiseUD(); return; }
      lockGroup(op > 4);
      bitOp(op - 4, size, imm, false);
      return;
    }
    case 0xa4: case 0xa5: case 0xac: case 0xad: {
      decodeModrm((b & 1) == 0 ? 1 : 0);
      const d = readERmw(size);
      const c: u32 = (b & 1) == 0 ? fetch8() : <u32>reg64(1) & 0xff;
      const r = shiftDouble(b < 0xa8, size, d, readG(size), c);
      writeERmw(size, r);
      return;
    }
    case 0xaf: { // IMUL Gv, Ev
      decodeModrm(0);
      imul3(readG(size), readE(size), size);
      return;
    }
    case 0xae: { // group 15
      decodeModrm(0);
      const op = mReg & 7;
      if (mMod == 3) return; // LFENCE / MFENCE / SFENCE: no reordering to fence
      switch (op) {
        case 0: fxsave(mLin()); return;
        case 1: fxrstor(mLin()); return;
        case 2: ldmxcsr(mLin()); return;
        case 3: stmxcsr(mLin()); return;
        case 7: readLin(mLin(), 1); return; // CLFLUSH: caches are coherent here
        default: raiseUD(); return;
      }
    }
    case 0xb0: case 0xb1: decodeModrm(0); cmpxchg(b == 0xb0 ? 1 : size); return;
    case 0xb2: case 0xb4: case 0xb5: { // LSS / LFS / LGS
      decodeModrm(0);
      if (mMod == 3) { raiseUD(); return; }
      const off = readLin(mLin(), size);
      const sel = <u32>readLin(linOf(mSeg, mEa + <u64>size), 2);
      loadSeg(b == 0xb2 ? SS : (b == 0xb4 ? FS : GS), sel);
      writeG(size, off);
      return;
    }
    case 0xb6: case 0xb7: {
      decodeModrm(0);
      writeG(size, readE(b == 0xb6 ? 1 : 2));
      return;
    }
    case 0xbe: case 0xbf: {
      decodeModrm(0);
      const from = b == 0xbe ? 1 : 2;
      const sh: u64 = 64 - (<u64>from << 3);
      const v = <u64>((<i64>(readE(from) << sh)) >> sh);
      writeG(size, v & sizeMask(size));
      return;
    }
    case 0xb8: { // POPCNT (F3 0F B8)
      if (pRep != 0xf3) { raiseUD(); return; }
      decodeModrm(0);
      const v = readE(size);
      writeG(size, popcnt<u64>(v));
      setArith(v == 0 ? ZF : 0);
      return;
    }
    case 0xbc: case 0xbd: {
      decodeModrm(0);
      const v = readE(size);
      const bits: u64 = <u64>size << 3;
      if (pRep == 0xf3) { // TZCNT / LZCNT (BMI1 / ABM)
        let r: u64;
        if (b == 0xbc) r = v == 0 ? bits : ctz<u64>(v);
        else r = v == 0 ? bits : clz<u64>(v) - (64 - bits);
        writeG(size, r);
        let f = resultFlags(r, size, v == 0 ? CF : 0) & (CF | ZF);
        setArith(f | (arithFlags() & (PF | AF | SF | OF)));
        return;
      }
      const f = arithFlags();
      if (v == 0) { setArith(f | ZF); return; } // destination unchanged (AMD documents this)
      writeG(size, b == 0xbc ? ctz<u64>(v) : 63 - clz<u64>(v));
      setArith(f & ~ZF);
      return;
    }
    case 0xc0: case 0xc1: { // XADD
      decodeModrm(0);
      const sz = b == 0xc0 ? 1 : size;
      const d = readERmw(sz);
      const s = readG(sz);
      const r = alu(0, sz, d, s);
      writeG(sz, d);
      writeERmw(sz, r);
      return;
    }
    case 0xc7: {
      decodeModrm(0);
      if ((mReg & 7) == 1) { lockGroup(true); cmpxchg8b16b(); return; }
      raiseUD(); return;
    }
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: {
      const r = (b & 7) | ((pRex & 1) << 3);
      if (size == 8) setReg64(r, bswap<u64>(reg64(r)));
      else if (size == 4) setReg(r, 4, <u64>bswap<u32>(<u32>reg64(r)));
      else setReg(r, 2, 0); // 16-bit BSWAP is undefined; hardware zeroes the register
      return;
    }
    default: break;
  }
  if (b >= 0x80 && b <= 0x8f) {
    const off = pOp == 2 ? <u64><i64><i16>fetch16() : <u64><i64><i32>fetch32();
    if (cond(b & 15)) branch(rip + off);
    return;
  }
  if (b >= 0x90 && b <= 0x9f) {
    decodeModrm(0);
    writeE(1, cond(b & 15) ? 1 : 0);
    return;
  }
  if (b >= 0x40 && b <= 0x4f) {
    decodeModrm(0);
    const v = readE(size);
    if (cond(b & 15)) writeG(size, v);
    else if (size == 4) writeG(4, readG(4)); // 32-bit CMOV zero-extends even when not taken
    return;
  }
  execSse(b);
}

function imul3(a: u64, b: u64, size: i32): void {
  const m = sizeMask(size);
  if (size == 8) {
    const lo = a * b; const hi = smulh(a, b);
    writeG(8, lo);
    mulFlags(lo, 8, hi != <u64>(<i64>lo >> 63));
    return;
  }
  const sh: u64 = 64 - (<u64>size << 3);
  const r = (<i64>(a << sh) >> sh) * (<i64>(b << sh) >> sh);
  const lo = <u64>r & m;
  writeG(size, lo);
  mulFlags(lo, size, ((<i64>(<u64>r << sh)) >> sh) != r);
}

// LOCK is legal only on read-modify-write memory forms (SDM vol. 2 "LOCK"); the register
// form and the /reg sub-opcodes are checked where the operand is decoded (readERmw, lockGroup).
function lockable(b: u32): bool {
  if (b == 0x0f) return true;
  if (b < 0x40) return (b & 7) < 2 && (b & 0x38) != 0x38;
  return b == 0x0f || (b >= 0x80 && b <= 0x83) || b == 0x86 || b == 0x87 || b == 0xf6 || b == 0xf7 || b == 0xfe || b == 0xff;
}
function lockable0F(b: u32): bool {
  return b == 0xab || b == 0xb3 || b == 0xbb || b == 0xba || b == 0xb0 || b == 0xb1 || b == 0xc0 || b == 0xc1 || b == 0xc7;
}
// For group opcodes: only some /reg values are lockable, and only with a memory operand.
function lockGroup(ok: bool): void { if (pLock && (!ok || mMod == 3)) raiseUD(); }

// Applies a legacy prefix byte; false when b is not one.
function legacyPrefix(b: u32): bool {
  switch (b) {
    case 0x66: case 0x67: return true;
    case 0xf2: case 0xf3: setRep(<i32>b); return true;
    case 0xf0: setLock(); return true;
    case 0x26: setSegOverride(ES); return true;
    case 0x2e: setSegOverride(CS); return true;
    case 0x36: setSegOverride(SS); return true;
    case 0x3e: setSegOverride(DS); return true;
    case 0x64: setSegOverride(FS); return true;
    case 0x65: setSegOverride(GS); return true;
    default: return false;
  }
}

// ---- one instruction ----
export function step(): void {
  startRip = rip;
  syncFetch();
  resetPrefixes();
  let b = fetch8();
  // Legacy prefixes in any order; REX counts only directly before the opcode (SDM vol. 2 s2.2.1).
  let rex = 0; let opPrefix = false; let adPrefix = false;
  while (true) {
    if (legacyPrefix(b)) {
      if (b == 0x66) opPrefix = true; else if (b == 0x67) adPrefix = true;
      rex = 0; b = fetch8(); continue;
    }
    if (mode64 && (b & 0xf0) == 0x40) { rex = <i32>b; b = fetch8(); continue; }
    break;
  }
  if (rip - startRip > 15) { raiseGP(0); return; } // instructions are at most 15 bytes
  if (pLock && !lockable(b)) { raiseUD(); return; }
  if (opPrefix) { set66(); setOp(mode64 ? 2 : (defOp == 2 ? 4 : 2)); }
  if (adPrefix) setAd(mode64 ? 4 : (defAd == 2 ? 4 : 2));
  if (rex != 0) { setRex(rex); if ((rex & 8) != 0) setOp(8); }
  const size = pOp;
  if (b < 0x40 && (b & 7) < 6) {
    const op = <i32>(b >> 3);
    switch (b & 7) {
      case 0: { decodeModrm(0); const d = op == 7 ? readE(1) : readERmw(1); const r = alu(op, 1, d, readG(1)); if (op != 7) writeERmw(1, r); return; }
      case 1: { decodeModrm(0); const d = op == 7 ? readE(size) : readERmw(size); const r = alu(op, size, d, readG(size)); if (op != 7) writeERmw(size, r); return; }
      case 2: { decodeModrm(0); const r = alu(op, 1, readG(1), readE(1)); if (op != 7) writeG(1, r); return; }
      case 3: { decodeModrm(0); const r = alu(op, size, readG(size), readE(size)); if (op != 7) writeG(size, r); return; }
      case 4: { const r = alu(op, 1, reg64(0) & 0xff, <u64>fetch8()); if (op != 7) setReg(0, 1, r); return; }
      default: { const r = alu(op, size, getReg(0, size), fetchImmZ(size) & sizeMask(size)); if (op != 7) setReg(0, size, r); return; }
    }
  }
  switch (b) {
    case 0x0f: step0F(); return;
    case 0x06: case 0x0e: case 0x16: case 0x1e: { // PUSH ES/CS/SS/DS
      undefIn64();
      push(<u64>segSel(<i32>(b >> 3)), size);
      return;
    }
    case 0x07: case 0x17: case 0x1f: { // POP ES/SS/DS
      undefIn64();
      const sel = <u32>peek(0, size) & 0xffff;
      loadSeg(<i32>(b >> 3), sel);
      adjustSp(<u64>size);
      if (b == 0x17) intShadow = true;
      return;
    }
    case 0x27: case 0x2f: case 0x37: case 0x3f: undefIn64(); bcdAdjust(<i32>b); return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      // INC/DEC r (only reachable outside 64-bit mode, where 40-4F are REX)
      const r = <i32>(b & 7);
      incDec(b >= 0x48, size, r, true);
      return;
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: {
      const r = <i32>(b & 7) | ((pRex & 1) << 3);
      const sz = mode64 ? (size == 2 ? 2 : 8) : size;
      push(getReg(r, sz), sz);
      return;
    }
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const r = <i32>(b & 7) | ((pRex & 1) << 3);
      const sz = mode64 ? (size == 2 ? 2 : 8) : size;
      const v = pop(sz);
      setReg(r, sz, v);
      return;
    }
    case 0x60: { // PUSHA
      undefIn64();
      const sp = getReg(4, size);
      const lowSp = reg64(4);
      // Check the whole frame first so a fault leaves ESP intact.
      probeWrite(linOf(SS, (lowSp - <u64>(8 * size)) & (stackSize == 2 ? 0xffff : 0xffffffff)));
      for (let r = 0; r < 8; r++) push(r == 4 ? sp : getReg(r, size), size);
      return;
    }
    case 0x61: { // POPA
      undefIn64();
      for (let r = 7; r >= 0; r--) {
        const v = pop(size);
        if (r != 4) setReg(r, size, v);
      }
      return;
    }
    case 0x63: {
      if (mode64) { // MOVSXD
        decodeModrm(0);
        const v = readE(4);
        writeG(size, size == 8 ? <u64><i64><i32><u32>v : v);
        return;
      }
      raiseUD(); return; // ARPL: not supported
    }
    case 0x68: { const sz = mode64 ? (size == 2 ? 2 : 8) : size; push(fetchImmZ(sz), sz); return; }
    case 0x6a: { const v = <u64><i64><i8>fetch8(); push(v, mode64 ? (size == 2 ? 2 : 8) : size); return; }
    case 0x69: { decodeModrm(size == 2 ? 2 : 4); const a = readE(size); imul3(a, fetchImmZ(size), size); return; }
    case 0x6b: { decodeModrm(1); const a = readE(size); imul3(a, <u64><i64><i8>fetch8(), size); return; }
    case 0x6c: stringOp(5, 1); return;
    case 0x6d: stringOp(5, size == 8 ? 4 : size); return;
    case 0x6e: stringOp(6, 1); return;
    case 0x6f: stringOp(6, size == 8 ? 4 : size); return;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const off = <u64><i64><i8>fetch8();
      if (cond(<i32>(b & 15))) branch(rip + off);
      return;
    }
    case 0x80: case 0x82: case 0x81: case 0x83: {
      if (b == 0x82) undefIn64();
      const sz = b == 0x81 || b == 0x83 ? size : 1;
      decodeModrm(b == 0x81 ? (size == 2 ? 2 : 4) : 1);
      const op = mReg & 7;
      lockGroup(op != 7);
      const d = op == 7 ? readE(sz) : readERmw(sz);
      const imm = b == 0x81 ? fetchImmZ(sz) & sizeMask(sz) : (b == 0x83 ? fetchImm8s(sz) : <u64>fetch8());
      const r = alu(op, sz, d, imm);
      if (op != 7) writeERmw(sz, r);
      return;
    }
    case 0x84: case 0x85: { const sz = b == 0x84 ? 1 : size; decodeModrm(0); alu(4, sz, readE(sz), readG(sz)); return; }
    case 0x86: case 0x87: {
      const sz = b == 0x86 ? 1 : size;
      decodeModrm(0);
      const d = readERmw(sz);
      const s = readG(sz);
      writeERmw(sz, s);
      writeG(sz, d);
      return;
    }
    case 0x88: decodeModrm(0); writeE(1, readG(1)); return;
    case 0x89: decodeModrm(0); writeE(size, readG(size)); return;
    case 0x8a: decodeModrm(0); writeG(1, readE(1)); return;
    case 0x8b: decodeModrm(0); writeG(size, readE(size)); return;
    case 0x8c: {
      decodeModrm(0);
      if ((mReg & 7) > 5) { raiseUD(); return; }
      const sel = <u64>segSel(mReg & 7);
      if (mMod == 3) setReg(mRm, size, sel); else writeE(2, sel);
      return;
    }
    case 0x8d: {
      decodeModrm(0);
      if (mMod == 3) { raiseUD(); return; }
      writeG(size, mEa & sizeMask(size));
      return;
    }
    case 0x8e: {
      decodeModrm(0);
      const s = mReg & 7;
      if (s == CS || s > 5) { raiseUD(); return; }
      loadSeg(s, <u32>readE(2));
      if (s == SS) intShadow = true;
      return;
    }
    case 0x8f: {
      decodeModrm(0);
      const sz = mode64 ? (size == 2 ? 2 : 8) : size;
      const v = peek(0, sz);
      // POP [rsp+x] computes the address with the incremented RSP (SDM vol. 2 "POP").
      if (mMod == 3) { adjustSp(<u64>sz); setReg(mRm, sz, v); return; }
      let ea = mEa;
      if (mBaseRsp) ea = (ea + <u64>sz) & (pAd == 8 ? 0xffffffffffffffff : (pAd == 4 ? 0xffffffff : 0xffff));
      writeLin(linOf(mSeg, ea), sz, v);
      adjustSp(<u64>sz);
      return;
    }
    case 0x90: {
      if ((pRex & 1) != 0) { const t = reg64(8); setReg(8, size, getReg(0, size)); setReg(0, size, t); return; }
      if (size == 4 && mode64) return; // NOP (xchg eax,eax does not zero-extend)
      return;
    }
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const r = <i32>(b & 7) | ((pRex & 1) << 3);
      const t = getReg(r, size);
      setReg(r, size, getReg(0, size));
      setReg(0, size, t);
      return;
    }
    case 0x98: {
      if (size == 2) setReg(0, 2, <u64><i64><i8>(<u8>reg64(0)) & 0xffff);
      else if (size == 4) setReg(0, 4, <u64><i64><i16>(<u16>reg64(0)) & 0xffffffff);
      else setReg64(0, <u64><i64><i32>(<u32>reg64(0)));
      return;
    }
    case 0x99: {
      const neg = (getReg(0, size) & signBit(size)) != 0;
      setReg(2, size, neg ? sizeMask(size) : 0);
      return;
    }
    case 0x9a: { // CALL far ptr16:16/32
      undefIn64();
      const off = size == 2 ? <u64>fetch16() : <u64>fetch32();
      const sel = fetch16();
      farCall(sel, off, size);
      return;
    }
    case 0x9b: return; // FWAIT
    case 0x9c: { // PUSHF
      const sz = mode64 ? (size == 2 ? 2 : 8) : size;
      push(getRflags() & ~(RF | VM), sz);
      return;
    }
    case 0x9d: popfInsn(mode64 ? (size == 2 ? 2 : 8) : size); return;
    case 0x9e: { // SAHF
      const ah = (reg64(0) >> 8) & 0xff;
      const f = arithFlags();
      setArith((f & ~(SF | ZF | AF | PF | CF)) | (ah & (SF | ZF | AF | PF | CF)));
      return;
    }
    case 0x9f: store<u8>(REGS, <u8>((arithFlags() & 0xd5) | 2), 1); return; // LAHF
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
      const sz = (b & 1) == 0 ? 1 : size;
      const off = pAd == 8 ? fetch64() : (pAd == 4 ? <u64>fetch32() : <u64>fetch16());
      const lin = linOf(pSeg >= 0 ? pSeg : DS, off);
      if (b < 0xa2) setReg(0, sz, readLin(lin, sz)); else writeLin(lin, sz, getReg(0, sz));
      return;
    }
    case 0xa4: stringOp(0, 1); return;
    case 0xa5: stringOp(0, size); return;
    case 0xa6: stringOp(3, 1); return;
    case 0xa7: stringOp(3, size); return;
    case 0xa8: alu(4, 1, reg64(0) & 0xff, <u64>fetch8()); return;
    case 0xa9: alu(4, size, getReg(0, size), fetchImmZ(size) & sizeMask(size)); return;
    case 0xaa: stringOp(1, 1); return;
    case 0xab: stringOp(1, size); return;
    case 0xac: stringOp(2, 1); return;
    case 0xad: stringOp(2, size); return;
    case 0xae: stringOp(4, 1); return;
    case 0xaf: stringOp(4, size); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      setReg(<i32>(b & 7) | ((pRex & 1) << 3), 1, <u64>fetch8()); return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: {
      const r = <i32>(b & 7) | ((pRex & 1) << 3);
      if (size == 8) setReg64(r, fetch64());
      else setReg(r, size, size == 4 ? <u64>fetch32() : <u64>fetch16());
      return;
    }
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const sz = (b & 1) == 0 ? 1 : size;
      decodeModrm(b < 0xc2 ? 1 : 0);
      const d = readERmw(sz);
      const c: u32 = b < 0xc2 ? fetch8() : (b < 0xd2 ? 1 : <u32>reg64(1) & 0xff);
      const r = shift(mReg & 7, sz, d, c);
      writeERmw(sz, r);
      return;
    }
    case 0xc2: case 0xc3: {
      const n = b == 0xc2 ? <u64>fetch16() : 0;
      const sz = mode64 ? 8 : size;
      const t = peek(0, sz);
      if (mode64 && <u64>((<i64>(t << 16)) >> 16) != t) { raiseGP(0); return; }
      adjustSp(<u64>sz + n);
      branch(t);
      return;
    }
    case 0xc4: case 0xc5: { // LES / LDS (VEX in 64-bit mode: not supported)
      decodeModrm(0);
      if (mode64 || mMod == 3) { raiseUD(); return; }
      const off = readLin(mLin(), size);
      const sel = <u32>readLin(linOf(mSeg, mEa + <u64>size), 2);
      loadSeg(b == 0xc4 ? ES : DS, sel);
      writeG(size, off);
      return;
    }
    case 0xc6: case 0xc7: {
      const sz = b == 0xc6 ? 1 : size;
      decodeModrm(sz == 1 ? 1 : (sz == 2 ? 2 : 4));
      if ((mReg & 7) != 0) { raiseUD(); return; }
      writeE(sz, sz == 1 ? <u64>fetch8() : fetchImmZ(sz) & sizeMask(sz));
      return;
    }
    case 0xc8: enter(); return;
    case 0xc9: leave(); return;
    case 0xca: case 0xcb: { const n = b == 0xca ? <u64>fetch16() : 0; farReturn(size, n); return; }
    case 0xcc: trapOrInt(3); return;
    case 0xcd: {
      const v = <i32>fetch8();
      if (rawExceptions) { trapOrInt(v); return; }
      softInt(v, 0);
      return;
    }
    case 0xce: undefIn64(); if (getOF()) trapOrInt(4); return;
    case 0xcf: iret(size); return;
    case 0xd4: case 0xd5: { undefIn64(); const base = fetch8(); asciiAdjust(b == 0xd4, base); return; }
    case 0xd7: { // XLAT
      const a = (addrReg(3) + (reg64(0) & 0xff)) & (pAd == 8 ? 0xffffffffffffffff : (pAd == 4 ? 0xffffffff : 0xffff));
      setReg(0, 1, readLin(linOf(pSeg >= 0 ? pSeg : DS, a), 1));
      return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      raise(7, 0, false); return; // x87 is not emulated: #NM, as with CR0.EM (SDM vol. 3 s2.5)
    case 0xe0: case 0xe1: case 0xe2: {
      const off = <u64><i64><i8>fetch8();
      const n = (countReg() - 1) & (pAd == 8 ? 0xffffffffffffffff : (pAd == 4 ? 0xffffffff : 0xffff));
      setCount(n);
      let take = n != 0;
      if (b == 0xe0) take = take && !getZF();
      else if (b == 0xe1) take = take && getZF();
      if (take) branch(rip + off);
      return;
    }
    case 0xe3: { const off = <u64><i64><i8>fetch8(); if (countReg() == 0) branch(rip + off); return; }
    case 0xe4: case 0xe5: case 0xec: case 0xed: {
      const port = b < 0xe6 ? <i32>fetch8() : <i32>(reg64(2) & 0xffff);
      const sz = (b & 1) == 0 ? 1 : (size == 8 ? 4 : size);
      if (!ioAllowed(port, sz)) { raiseGP(0); return; }
      setReg(0, sz, ioIn(port, sz));
      return;
    }
    case 0xe6: case 0xe7: case 0xee: case 0xef: {
      const port = b < 0xe8 ? <i32>fetch8() : <i32>(reg64(2) & 0xffff);
      const sz = (b & 1) == 0 ? 1 : (size == 8 ? 4 : size);
      if (!ioAllowed(port, sz)) { raiseGP(0); return; }
      ioOut(port, sz, getReg(0, sz));
      return;
    }
    case 0xe8: {
      const off = pOp == 2 && !mode64 ? <u64><i64><i16>fetch16() : <u64><i64><i32>fetch32();
      const sz = mode64 ? 8 : size;
      push(rip, sz);
      branch(rip + off);
      return;
    }
    case 0xe9: {
      const off = pOp == 2 && !mode64 ? <u64><i64><i16>fetch16() : <u64><i64><i32>fetch32();
      branch(rip + off);
      return;
    }
    case 0xea: { // JMP far ptr16:16/32
      undefIn64();
      const off = size == 2 ? <u64>fetch16() : <u64>fetch32();
      const sel = fetch16();
      farJump(sel, off, size);
      return;
    }
    case 0xeb: { const off = <u64><i64><i8>fetch8(); branch(rip + off); return; }
    case 0xf1: trapOrInt(1); return; // INT1 / ICEBP
    case 0xf4: { // HLT
      if (cpl != 0) { raiseGP(0); return; }
      halted = true;
      exitReason = EXIT_HLT; exitRequested = true;
      return;
    }
    case 0xf5: { const f = arithFlags(); setArith(f ^ CF); return; }
    case 0xf6: decodeModrm(-1); lockGroup((mReg & 6) == 2); group3(1); return;
    case 0xf7: decodeModrm(-2); lockGroup((mReg & 6) == 2); group3(size); return;
    case 0xf8: { const f = arithFlags(); setArith(f & ~CF); return; }
    case 0xf9: { const f = arithFlags(); setArith(f | CF); return; }
    case 0xfa: case 0xfb: { // CLI / STI
      const iopl = <i32>((flagsOther >> 12) & 3);
      if (protMode && cpl > iopl) { raiseGP(0); return; }
      if (b == 0xfa) flagsOther &= ~IF;
      else {
        if ((flagsOther & IF) == 0) intShadow = true; // STI shadow (SDM vol. 2 "STI")
        flagsOther |= IF;
      }
      return;
    }
    case 0xfc: flagsOther &= ~DF; return;
    case 0xfd: flagsOther |= DF; return;
    case 0xfe: {
      decodeModrm(0);
      const op = mReg & 7;
      if (op > 1) { raiseUD(); return; }
      lockGroup(true);
      incDec(op == 1, 1, -1, false);
      return;
    }
    case 0xff: {
      decodeModrm(0);
      const op = mReg & 7;
      lockGroup(op < 2);
      switch (op) {
        case 0: case 1: incDec(op == 1, size, -1, false); return;
        case 2: { // CALL near indirect
          const sz = mode64 ? 8 : size;
          const t = readE(sz);
          if (mode64 && <u64>((<i64>(t << 16)) >> 16) != t) { raiseGP(0); return; }
          push(rip, sz);
          branch(t);
          return;
        }
        case 4: {
          const sz = mode64 ? 8 : size;
          const t = readE(sz);
          if (mode64 && <u64>((<i64>(t << 16)) >> 16) != t) { raiseGP(0); return; }
          branch(t);
          return;
        }
        case 3: case 5: { // CALL/JMP far m16:16/32/64
          if (mMod == 3) { raiseUD(); return; }
          const off = readLin(mLin(), size);
          const sel = <u32>readLin(linOf(mSeg, mEa + <u64>size), 2);
          if (op == 3) farCall(sel, off, size); else farJump(sel, off, size);
          return;
        }
        case 6: {
          const sz = mode64 ? (size == 2 ? 2 : 8) : size;
          push(readE(sz), sz);
          return;
        }
        default: raiseUD(); return;
      }
    }
    default: raiseUD(); return;
  }
}

function incDec(dec: bool, size: i32, reg: i32, regForm: bool): void {
  const m = sizeMask(size);
  const c = getCF();
  let d: u64;
  if (regForm) d = getReg(reg, size); else d = readERmw(size);
  const r = dec ? (d - 1) & m : (d + 1) & m;
  setLazyC(dec ? F_DEC : F_INC, r, d, 1, size, c);
  if (regForm) setReg(reg, size, r); else writeERmw(size, r);
}

// DAA DAS AAA AAS (SDM vol. 2, per instruction; 32-bit modes only).
function bcdAdjust(op: i32): void {
  let al = <u32>reg64(0) & 0xff;
  const cf = getCF(); const af = (arithFlags() & AF) != 0;
  let f: u64 = 0;
  if (op == 0x27 || op == 0x2f) {
    const oldAl = al;
    let ncf = false; let naf = false;
    if ((al & 0xf) > 9 || af) {
      al = op == 0x27 ? (al + 6) & 0xff : (al - 6) & 0xff;
      ncf = cf || (op == 0x27 ? oldAl > 0xf9 : oldAl < 6);
      naf = true;
    }
    if (oldAl > 0x99 || cf) { al = op == 0x27 ? (al + 0x60) & 0xff : (al - 0x60) & 0xff; ncf = true; }
    store<u8>(REGS, <u8>al);
    f = resultFlags(<u64>al, 1, (ncf ? CF : 0) | (naf ? AF : 0));
  } else {
    let ax = <u32>reg64(0) & 0xffff;
    if ((al & 0xf) > 9 || af) {
      if (op == 0x37) ax = (ax + 0x106) & 0xffff; else ax = ((ax - 6) & 0xff) | ((((ax >> 8) - 1) & 0xff) << 8);
      f = AF | CF;
    }
    ax = (ax & 0xff0f);
    store<u16>(REGS, <u16>ax);
    f = resultFlags(<u64>(ax & 0xff), 1, f);
  }
  setArith(f);
}
function asciiAdjust(aam: bool, base: u32): void {
  const al = <u32>reg64(0) & 0xff;
  const ah = (<u32>reg64(0) >> 8) & 0xff;
  let r: u32;
  if (aam) {
    if (base == 0) { raise(0, 0, false); return; }
    r = ((al / base) << 8) | (al % base);
  } else r = ((al + ah * base) & 0xff);
  store<u16>(REGS, <u16>r);
  setArith(resultFlags(<u64>(r & 0xff), 1, 0));
}
