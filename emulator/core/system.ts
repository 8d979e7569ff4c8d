// System architecture: mode tracking, segment loads with descriptor checks, interrupt and
// exception delivery through the IVT/IDT, far transfers, IRET, SYSCALL/SYSRET, control
// registers, MSRs and CPUID (Intel SDM vol. 3 ch. 3, 5, 6; AMD APM vol. 2 ch. 6, 8).
import {
  REGS, SEGS, rip, startRip, cr0, cr2, cr3, cr4, cr8, efer, xcr0, gdtrBase, gdtrLimit, idtrBase, idtrLimit,
  msrStar, msrLstar, msrCstar, msrSfmask, msrKernelGsBase, msrTscAux, msrSysenterCs, msrSysenterEsp,
  msrSysenterEip, msrPat, msrApicBase, msrTscDeadline, msrMiscEnable, tscOffset, vclockNow, mode64, protMode, defOp, defAd, cpl,
  linMask, userShift, stackSize, flagsOther, exitRequested, reg64, setReg64, segBase, segSel, segAttr, segLimit,
  setSeg, setSegBase, ES, CS, SS, DS, FS, GS, LDTR, TR, SEG_EBASE, ATTR_L, ATTR_DB, ATTR_G, ATTR_P, ATTR_S, ATTR_UNUSABLE,
} from './state';
import {
  readLin, writeLin, raise, raiseGP, raiseUD, accShift, accSeg, tlbFlushAll, tlbFlushNonGlobal, tlbFlushPage,
} from './mem';
import { pOp, pRex, mMod, mReg, mRm, mEa, mSeg, getReg, setReg, readE, writeE, writeG, readG, mLin, linOf, invalidateFetch, pRep } from './decode';
import { getRflags, setRflagsAll, arithFlags, setArith, ZF, TF, IF, NT, RF, VM, AC, IOPL, ID, ARITH } from './flags';
import { push, pop, peek, adjustSp } from './interp';
import { tprWrite, tprRead } from './imports';

const EFER_SCE: u64 = 1; const EFER_LME: u64 = 1 << 8; const EFER_LMA: u64 = 1 << 10; const EFER_NXE: u64 = 1 << 11;
const CR0_PE: u64 = 1; const CR0_WP: u64 = 1 << 16; const CR0_PG: u64 = 1 << 31;
const CR4_PSE: u64 = 1 << 4; const CR4_PAE: u64 = 1 << 5; const CR4_PGE: u64 = 1 << 7;
const CR4_OSXSAVE: u64 = 1 << 18;
// CR4 bits we implement: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT FSGSBASE OSXSAVE
const CR4_VALID: u64 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x10000 | 0x40000;

// ---------------------------------------------------------------- mode
export function updateMode(): void {
  const lma = (efer & EFER_LMA) != 0;
  const csAttr = segAttr(CS);
  protMode = (cr0 & CR0_PE) != 0;
  mode64 = lma && (csAttr & ATTR_L) != 0;
  if (mode64) { defOp = 4; defAd = 8; }
  else if (protMode && (csAttr & ATTR_DB) != 0) { defOp = 4; defAd = 4; }
  else { defOp = 2; defAd = 2; }
  cpl = protMode ? <i32>(segSel(CS) & 3) : 0;
  linMask = mode64 ? 0xffffffffffffffff : 0xffffffff;
  userShift = cpl == 3 ? 3 : 0;
  accShift = userShift;
  stackSize = mode64 ? 8 : ((segAttr(SS) & ATTR_DB) != 0 && protMode ? 4 : 2);
  for (let s = 0; s < 6; s++) {
    const p = SEGS + (<usize>s << 5);
    store<u64>(p, mode64 && s < 4 ? 0 : segBase(s), SEG_EBASE);
  }
  invalidateFetch();
}

// ---------------------------------------------------------------- descriptors
// System-structure accesses are supervisor accesses whatever the CPL (SDM vol. 3 s4.6.1).
function sysRead(lin: u64, size: i32): u64 {
  const saved = accShift; accShift = 0; accSeg = DS;
  const v = readLin(lin, size);
  accShift = saved;
  return v;
}
function sysWrite(lin: u64, size: i32, v: u64): void {
  const saved = accShift; accShift = 0; accSeg = DS;
  writeLin(lin, size, v);
  accShift = saved;
}

let descAddr: u64 = 0;
// Reads the 8-byte descriptor for sel; #GP(sel) (or the given vector) when outside the table.
function readDesc(sel: u32, vector: i32): u64 {
  const idx: u64 = <u64>(sel & 0xfff8);
  let base: u64; let limit: u64;
  if ((sel & 4) != 0) {
    if ((segAttr(LDTR) & ATTR_UNUSABLE) != 0 || segSel(LDTR) == 0) { raise(vector, <i32>(sel & 0xfffc), true); return 0; }
    base = segBase(LDTR); limit = <u64>segLimit(LDTR);
  } else { base = gdtrBase; limit = <u64>gdtrLimit; }
  if (idx + 7 > limit) { raise(vector, <i32>(sel & 0xfffc), true); return 0; }
  descAddr = (base + idx) & linMask;
  return sysRead(descAddr, 8);
}
@inline function descBase(d: u64): u64 { return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24); }
@inline function descLimit(d: u64): u32 {
  let l = <u32>((d & 0xffff) | ((d >> 32) & 0xf0000));
  if ((d & (<u64>1 << 55)) != 0) l = (l << 12) | 0xfff;
  return l;
}
@inline function descAttr(d: u64): u32 { return <u32>((d >> 40) & 0xff) | (<u32>((d >> 52) & 0xf) << 8); }
@inline function attrDpl(a: u32): i32 { return <i32>((a >> 5) & 3); }
function setAccessed(d: u64): void {
  if ((d & (<u64>1 << 40)) == 0) sysWrite(descAddr + 5, 1, ((d >> 40) & 0xff) | 1);
}

// MOV/POP Sreg, LDS-family (SDM vol. 2 "MOV—Move to/from Segment Registers").
export function loadSeg(s: i32, sel: u32): void {
  sel &= 0xffff;
  if (!protMode) {
    setSeg(s, sel, <u64>(sel << 4), segLimit(s), (segAttr(s) & ~ATTR_UNUSABLE) | ATTR_P | ATTR_S | 3);
    updateMode();
    return;
  }
  if ((sel & 0xfffc) == 0) {
    if (s == SS && !(mode64 && cpl < 3 && <i32>(sel & 3) == cpl)) { raiseGP(0); return; }
    setSeg(s, sel, 0, 0, ATTR_UNUSABLE);
    updateMode();
    return;
  }
  const d = readDesc(sel, 13);
  const a = descAttr(d);
  const rpl = <i32>(sel & 3);
  const dpl = attrDpl(a);
  const code = (a & 8) != 0;
  if ((a & ATTR_S) == 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if (s == SS) {
    if (code || (a & 2) == 0 || rpl != cpl || dpl != cpl) { raiseGP(<i32>(sel & 0xfffc)); return; }
    if ((a & ATTR_P) == 0) { raise(12, <i32>(sel & 0xfffc), true); return; }
  } else {
    if (code && (a & 2) == 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
    const conforming = code && (a & 4) != 0;
    if (!conforming && (dpl < cpl || dpl < rpl)) { raiseGP(<i32>(sel & 0xfffc)); return; }
    if ((a & ATTR_P) == 0) { raise(11, <i32>(sel & 0xfffc), true); return; }
  }
  setAccessed(d);
  setSeg(s, sel, descBase(d), descLimit(d), a | 1);
  updateMode();
}

// Loads CS for a far transfer to a code segment at privilege newCpl.
function loadCs(sel: u32, d: u64, newCpl: i32): void {
  setAccessed(d);
  setSeg(CS, (sel & 0xfffc) | <u32>newCpl, descBase(d), descLimit(d), descAttr(d) | 1);
}

function checkCodeDesc(sel: u32, d: u64, forCall: bool): void {
  const a = descAttr(d);
  if ((a & ATTR_S) == 0 || (a & 8) == 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
  const dpl = attrDpl(a); const rpl = <i32>(sel & 3);
  if ((a & 4) != 0) { if (dpl > cpl) { raiseGP(<i32>(sel & 0xfffc)); return; } }
  else if (rpl > cpl || dpl != cpl) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if ((a & ATTR_P) == 0) { raise(11, <i32>(sel & 0xfffc), true); return; }
  if ((efer & EFER_LMA) != 0 && (a & ATTR_L) != 0 && (a & ATTR_DB) != 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if (forCall) return;
}

function targetRip(off: u64, a: u32): u64 {
  if ((efer & EFER_LMA) != 0 && (a & ATTR_L) != 0) return off;
  return (a & ATTR_DB) != 0 ? off & 0xffffffff : off & 0xffff;
}

export function farJump(sel: u32, off: u64, size: i32): void {
  if (!protMode) {
    setSeg(CS, sel, <u64>(sel << 4), segLimit(CS), segAttr(CS));
    rip = size == 2 ? off & 0xffff : off & 0xffffffff;
    updateMode();
    return;
  }
  if ((sel & 0xfffc) == 0) { raiseGP(0); return; }
  const d = readDesc(sel, 13);
  checkCodeDesc(sel, d, false);
  loadCs(sel, d, cpl);
  rip = targetRip(off, descAttr(d));
  updateMode();
}

export function farCall(sel: u32, off: u64, size: i32): void {
  if (!protMode) {
    push(<u64>segSel(CS), size);
    push(rip, size);
    setSeg(CS, sel, <u64>(sel << 4), segLimit(CS), segAttr(CS));
    rip = size == 2 ? off & 0xffff : off & 0xffffffff;
    updateMode();
    return;
  }
  if ((sel & 0xfffc) == 0) { raiseGP(0); return; }
  const d = readDesc(sel, 13);
  checkCodeDesc(sel, d, true);
  const sz = mode64 && size == 4 && (pRex & 8) == 0 ? 4 : size;
  push(<u64>segSel(CS), sz);
  push(rip, sz);
  loadCs(sel, d, cpl);
  rip = targetRip(off, descAttr(d));
  updateMode();
}

// Segment registers that the new privilege level may not use are nulled (SDM vol. 2 "RET", "IRET").
function nullifyForOuter(newCpl: i32): void {
  for (let s = 0; s < 6; s++) {
    if (s == CS || s == SS) continue;
    if (s == FS || s == GS) { if (segSel(s) == 0) continue; }
    const a = segAttr(s);
    if ((a & ATTR_UNUSABLE) != 0) continue;
    const dataOrNonConf = (a & 8) == 0 || (a & 4) == 0;
    if (dataOrNonConf && attrDpl(a) < newCpl) setSeg(s, 0, s >= FS ? segBase(s) : 0, 0, ATTR_UNUSABLE);
  }
}

export function farReturn(size: i32, n: u64): void {
  const sz = mode64 && (pRex & 8) != 0 ? 8 : size;
  const off = peek(0, sz);
  const sel = <u32>peek(<u64>sz, sz) & 0xffff;
  if (!protMode) {
    adjustSp(<u64>(2 * sz) + n);
    setSeg(CS, sel, <u64>(sel << 4), segLimit(CS), segAttr(CS));
    rip = sz == 2 ? off & 0xffff : off & 0xffffffff;
    updateMode();
    return;
  }
  const rpl = <i32>(sel & 3);
  if ((sel & 0xfffc) == 0 || rpl < cpl) { raiseGP(<i32>(sel & 0xfffc)); return; }
  const d = readDesc(sel, 13);
  const a = descAttr(d);
  if ((a & ATTR_S) == 0 || (a & 8) == 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if ((a & ATTR_P) == 0) { raise(11, <i32>(sel & 0xfffc), true); return; }
  if (rpl == cpl) {
    adjustSp(<u64>(2 * sz) + n);
    loadCs(sel, d, rpl);
    rip = targetRip(off, a);
    updateMode();
    return;
  }
  // Return to an outer privilege level: pop SS:RSP as well.
  const nsp = peek(<u64>(2 * sz) + n, sz);
  const nss = <u32>peek(<u64>(3 * sz) + n, sz) & 0xffff;
  loadCs(sel, d, rpl);
  updateMode();
  loadStackSeg(nss, rpl);
  setReg64(4, nsp + n);
  rip = targetRip(off, a);
  nullifyForOuter(rpl);
  updateMode();
}

function loadStackSeg(sel: u32, newCpl: i32): void {
  if ((sel & 0xfffc) == 0) {
    if ((efer & EFER_LMA) != 0 && newCpl < 3) { setSeg(SS, sel, 0, 0, ATTR_UNUSABLE | ATTR_DB | (<u32>newCpl << 5)); return; }
    raiseGP(0); return;
  }
  const d = readDesc(sel, 13);
  const a = descAttr(d);
  if ((a & ATTR_S) == 0 || (a & 8) != 0 || (a & 2) == 0 || attrDpl(a) != newCpl || <i32>(sel & 3) != newCpl) {
    raiseGP(<i32>(sel & 0xfffc)); return;
  }
  if ((a & ATTR_P) == 0) { raise(12, <i32>(sel & 0xfffc), true); return; }
  setAccessed(d);
  setSeg(SS, sel, descBase(d), descLimit(d), a | 1);
}

// ---------------------------------------------------------------- IRET
export function iret(size: i32): void {
  if (!protMode) {
    const ip = peek(0, size); const cs = <u32>peek(<u64>size, size) & 0xffff; const fl = peek(<u64>(2 * size), size);
    adjustSp(<u64>(3 * size));
    setSeg(CS, cs, <u64>(cs << 4), segLimit(CS), segAttr(CS));
    rip = ip & (size == 2 ? 0xffff : 0xffffffff);
    const cur = getRflags();
    const mask: u64 = size == 2 ? 0xffff : 0x257fd5;
    setRflagsAll((cur & ~mask) | (fl & mask));
    updateMode();
    return;
  }
  if ((flagsOther & NT) != 0 && (efer & EFER_LMA) == 0) { raiseGP(0); return; } // task return: no TSS switching
  const lma = (efer & EFER_LMA) != 0;
  const sz = size;
  const nip = peek(0, sz);
  const sel = <u32>peek(<u64>sz, sz) & 0xffff;
  const fl = peek(<u64>(2 * sz), sz);
  const rpl = <i32>(sel & 3);
  if ((sel & 0xfffc) == 0 || rpl < cpl) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if ((fl & VM) != 0 && !lma && cpl == 0) { raiseGP(0); return; } // virtual-8086 mode: not supported
  const d = readDesc(sel, 13);
  const a = descAttr(d);
  if ((a & ATTR_S) == 0 || (a & 8) == 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if ((a & 4) != 0 ? attrDpl(a) > rpl : attrDpl(a) != rpl) { raiseGP(<i32>(sel & 0xfffc)); return; }
  if ((a & ATTR_P) == 0) { raise(11, <i32>(sel & 0xfffc), true); return; }
  const popStack = mode64 || rpl > cpl;
  let nsp: u64 = 0; let nss: u32 = 0;
  if (popStack) { nsp = peek(<u64>(3 * sz), sz); nss = <u32>peek(<u64>(4 * sz), sz) & 0xffff; }
  const oldCpl = cpl;
  // Flags: IOPL only at CPL 0, IF only when CPL <= IOPL (SDM vol. 2 "IRET").
  let mask: u64 = ARITH | TF | 0x400 | NT | RF | AC | ID;
  if (sz == 2) mask &= 0xffff;
  const iopl = <i32>((flagsOther >> 12) & 3);
  if (oldCpl == 0) mask |= IOPL;
  if (oldCpl <= iopl) mask |= IF;
  if (sz == 2) mask &= 0xffff;
  if (!popStack) adjustSp(<u64>(3 * sz));
  loadCs(sel, d, rpl);
  updateMode();
  if (popStack) {
    loadStackSeg(nss, rpl);
    setReg64(4, sz == 4 ? nsp & 0xffffffff : (sz == 2 ? nsp & 0xffff : nsp));
  }
  const cur = getRflags();
  setRflagsAll((cur & ~mask) | (fl & mask));
  rip = targetRip(nip, a);
  if (rpl > oldCpl) nullifyForOuter(rpl);
  updateMode();
}

// ---------------------------------------------------------------- interrupts and exceptions
// kind: 0 INT n, 1 INT3/INTO (software exceptions), 2 hardware exception, 3 external interrupt.
export const KIND_INTN = 0; export const KIND_SWEXC = 1; export const KIND_HW = 2; export const KIND_EXT = 3;

export function softInt(vector: i32, kind: i32): void {
  deliver(vector, 0, false, kind == 1 && vector != 1 ? KIND_SWEXC : (vector == 1 ? KIND_HW : KIND_INTN));
}

function tssRsp(n: i32): u64 {
  if (((segAttr(TR) >> 0) & 0xf) == 0 || segSel(TR) == 0) { raise(10, 0, true); return 0; }
  const base = segBase(TR);
  return sysRead(base + 4 + (<u64>n << 3), 8);
}

export function deliver(vector: i32, error: i32, hasError: bool, kind: i32): void {
  const ext: i32 = kind >= KIND_HW ? 1 : 0;
  if (!protMode) {
    // Real-mode IVT (SDM vol. 3 s20.1.4).
    const ent = <u32>sysRead((idtrBase + (<u64>vector << 2)) & 0xffffffff, 4);
    push(getRflags() & 0xffff, 2);
    push(<u64>segSel(CS), 2);
    push(rip & 0xffff, 2);
    flagsOther &= ~(IF | TF | AC | RF);
    const sel = ent >> 16;
    setSeg(CS, sel, <u64>(sel << 4), segLimit(CS), segAttr(CS));
    rip = <u64>(ent & 0xffff);
    updateMode();
    return;
  }
  const lma = (efer & EFER_LMA) != 0;
  const gsz: u64 = lma ? 16 : 8;
  const gateErr = vector * 8 + 2 + ext;
  if (<u64>vector * gsz + gsz - 1 > <u64>idtrLimit) { raiseGP(gateErr); return; }
  const gAddr = (idtrBase + <u64>vector * gsz) & linMask;
  const lo = sysRead(gAddr, 8);
  const hi: u64 = lma ? sysRead(gAddr + 8, 8) : 0;
  const type = <i32>((lo >> 40) & 0x1f);
  const gdpl = <i32>((lo >> 45) & 3);
  let is32 = true; let trapGate = false;
  if (lma) {
    if (type != 0xe && type != 0xf) { raiseGP(gateErr); return; }
    trapGate = type == 0xf;
  } else {
    if (type == 0x6 || type == 0x7) { is32 = false; trapGate = type == 7; }
    else if (type == 0xe || type == 0xf) trapGate = type == 0xf;
    else { raiseGP(gateErr); return; } // task gates: not supported
  }
  if (kind <= KIND_SWEXC && gdpl < cpl) { raiseGP(vector * 8 + 2); return; }
  if (((lo >> 47) & 1) == 0) { raise(11, gateErr, true); return; }
  const sel = <u32>((lo >> 16) & 0xffff);
  let off: u64 = (lo & 0xffff) | ((lo >> 32) & 0xffff0000);
  if (lma) off |= hi << 32;
  if ((sel & 0xfffc) == 0) { raiseGP(ext); return; }
  const d = readDesc(sel, 13);
  const a = descAttr(d);
  if ((a & ATTR_S) == 0 || (a & 8) == 0 || attrDpl(a) > cpl) { raiseGP(<i32>(sel & 0xfffc) + ext); return; }
  if ((a & ATTR_P) == 0) { raise(11, <i32>(sel & 0xfffc) + ext, true); return; }
  if (lma && ((a & ATTR_L) == 0 || (a & ATTR_DB) != 0)) { raiseGP(<i32>(sel & 0xfffc) + ext); return; }
  const conforming = (a & 4) != 0;
  const newCpl = conforming ? cpl : attrDpl(a);
  const oldCpl = cpl;
  const oldSs = segSel(SS);
  const oldRsp = reg64(4);
  const oldCs = segSel(CS);
  const flags = getRflags();
  const retRip = rip;

  if (lma) {
    const ist = <i32>((lo >> 32) & 7);
    let nsp: u64;
    if (ist != 0) nsp = sysRead(segBase(TR) + 0x24 + (<u64>(ist - 1) << 3), 8);
    else if (newCpl != oldCpl) nsp = tssRsp(newCpl);
    else nsp = oldRsp;
    nsp &= ~(<u64>15); // 64-bit delivery aligns the stack (SDM vol. 3 s6.14.2)
    // Build the frame with supervisor accesses before committing anything.
    const saved = accShift; accShift = newCpl == 3 ? 3 : 0;
    let p = nsp;
    p -= 8; writeLin(p, 8, <u64>oldSs);
    p -= 8; writeLin(p, 8, oldRsp);
    p -= 8; writeLin(p, 8, flags);
    p -= 8; writeLin(p, 8, <u64>oldCs);
    p -= 8; writeLin(p, 8, retRip);
    if (hasError) { p -= 8; writeLin(p, 8, <u64><u32>error); }
    accShift = saved;
    loadCs(sel, d, newCpl);
    if (newCpl != oldCpl) setSeg(SS, <u32>newCpl, 0, 0, ATTR_UNUSABLE | (<u32>newCpl << 5));
    setReg64(4, p);
    rip = off;
  } else {
    const w = is32 ? 4 : 2;
    let nsp: u64 = oldRsp; let nssSel: u32 = oldSs;
    let switchStack = newCpl < oldCpl;
    let nssD: u64 = 0;
    if (switchStack) {
      // 32-bit TSS: ESPn at 4+8n, SSn at 8+8n (SDM vol. 3 s8.2.1).
      const tb = segBase(TR);
      nsp = sysRead(tb + 4 + (<u64>newCpl << 3), 4);
      nssSel = <u32>sysRead(tb + 8 + (<u64>newCpl << 3), 2);
      if ((nssSel & 0xfffc) == 0) { raise(10, ext, true); return; }
      nssD = readDesc(nssSel, 10);
    }
    const ssB = switchStack ? ((descAttr(nssD) & ATTR_DB) != 0) : (stackSize == 4);
    const ssBase = switchStack ? descBase(nssD) : segBase(SS);
    const spMask: u64 = ssB ? 0xffffffff : 0xffff;
    const saved = accShift; accShift = newCpl == 3 ? 3 : 0;
    let p = nsp;
    if (switchStack) {
      p -= <u64>w; writeLin((ssBase + (p & spMask)) & 0xffffffff, w, <u64>oldSs);
      p -= <u64>w; writeLin((ssBase + (p & spMask)) & 0xffffffff, w, oldRsp);
    }
    p -= <u64>w; writeLin((ssBase + (p & spMask)) & 0xffffffff, w, flags);
    p -= <u64>w; writeLin((ssBase + (p & spMask)) & 0xffffffff, w, <u64>oldCs);
    p -= <u64>w; writeLin((ssBase + (p & spMask)) & 0xffffffff, w, retRip);
    if (hasError) { p -= <u64>w; writeLin((ssBase + (p & spMask)) & 0xffffffff, w, <u64><u32>error); }
    accShift = saved;
    if (switchStack) {
      setAccessed(nssD);
      setSeg(SS, nssSel, descBase(nssD), descLimit(nssD), descAttr(nssD) | 1);
      setReg64(4, p & spMask);
    } else if (ssB) setReg64(4, p & 0xffffffff);
    else store<u16>(REGS + 32, <u16>p);
    loadCs(sel, d, newCpl);
    rip = is32 ? off & 0xffffffff : off & 0xffff;
  }
  let nf = flagsOther & ~(TF | NT | RF | VM);
  if (!trapGate) nf &= ~IF;
  flagsOther = nf;
  updateMode();
}

// ---------------------------------------------------------------- SYSCALL / SYSRET (AMD APM vol. 2 s6.1.1)
const FLAT_CODE64: u32 = 0xb | ATTR_S | ATTR_P | ATTR_L | ATTR_G;
const FLAT_CODE32: u32 = 0xb | ATTR_S | ATTR_P | ATTR_DB | ATTR_G;
const FLAT_DATA: u32 = 0x3 | ATTR_S | ATTR_P | ATTR_DB | ATTR_G;

export function syscallInsn(): void {
  if ((efer & EFER_SCE) == 0) { raiseUD(); return; }
  const sel = <u32>((msrStar >> 32) & 0xffff);
  const lma = (efer & EFER_LMA) != 0;
  if (lma) {
    setReg64(1, rip);
    setReg64(11, getRflags() & ~RF);
    setSeg(CS, sel & 0xfffc, 0, 0xffffffff, FLAT_CODE64);
    setSeg(SS, (sel + 8) & 0xfffc, 0, 0xffffffff, FLAT_DATA);
    const f = getRflags() & ~msrSfmask & ~RF;
    setRflagsAll(f);
    rip = mode64 ? msrLstar : msrCstar;
  } else {
    setReg64(1, rip & 0xffffffff);
    setSeg(CS, sel & 0xfffc, 0, 0xffffffff, FLAT_CODE32);
    setSeg(SS, (sel + 8) & 0xfffc, 0, 0xffffffff, FLAT_DATA);
    flagsOther &= ~(IF | VM | RF);
    rip = msrStar & 0xffffffff;
  }
  updateMode();
}

export function sysretInsn(): void {
  if ((efer & EFER_SCE) == 0) { raiseUD(); return; }
  if (!protMode || cpl != 0) { raiseGP(0); return; }
  const base = <u32>((msrStar >> 48) & 0xffff);
  const lma = (efer & EFER_LMA) != 0;
  if (lma) {
    if ((pRex & 8) != 0) {
      const t = reg64(1);
      if (<u64>((<i64>(t << 16)) >> 16) != t) { raiseGP(0); return; }
      setSeg(CS, ((base + 16) & 0xfffc) | 3, 0, 0xffffffff, FLAT_CODE64 | (3 << 5));
      rip = t;
    } else {
      setSeg(CS, (base & 0xfffc) | 3, 0, 0xffffffff, FLAT_CODE32 | (3 << 5));
      rip = reg64(1) & 0xffffffff;
    }
    setRflagsAll((reg64(11) & 0x3c7fd7) | 2);
  } else {
    setSeg(CS, (base & 0xfffc) | 3, 0, 0xffffffff, FLAT_CODE32 | (3 << 5));
    rip = reg64(1) & 0xffffffff;
    flagsOther |= IF;
  }
  setSeg(SS, ((base + 8) & 0xfffc) | 3, 0, 0xffffffff, FLAT_DATA | (3 << 5));
  updateMode();
}

// ---------------------------------------------------------------- control registers
export function movToCr(n: i32, v: u64): void {
  switch (n) {
    case 0: {
      if ((v >> 32) != 0) { raiseGP(0); return; }
      if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) { raiseGP(0); return; }
      const old = cr0;
      if ((v & CR0_PG) != 0 && (old & CR0_PG) == 0 && (efer & EFER_LME) != 0) {
        if ((cr4 & CR4_PAE) == 0) { raiseGP(0); return; }
        efer |= EFER_LMA;
      }
      if ((v & CR0_PG) == 0 && (old & CR0_PG) != 0) {
        if (mode64) { raiseGP(0); return; }
        efer &= ~EFER_LMA;
      }
      cr0 = v | 0x10; // ET is hardwired
      if (((old ^ cr0) & (CR0_PG | CR0_WP | CR0_PE)) != 0) tlbFlushAll();
      updateMode();
      return;
    }
    case 2: cr2 = v; return;
    case 3: cr3 = v; tlbFlushNonGlobal(); return;
    case 4: {
      if ((v & ~CR4_VALID) != 0) { raiseGP(0); return; }
      if ((efer & EFER_LMA) != 0 && (v & CR4_PAE) == 0) { raiseGP(0); return; }
      const old = cr4;
      cr4 = v;
      if (((old ^ v) & (CR4_PGE | CR4_PAE | CR4_PSE)) != 0) tlbFlushAll();
      return;
    }
    case 8: if ((v >> 4) != 0) { raiseGP(0); return; } cr8 = v; tprWrite(<i32>v); return;
    default: raiseUD(); return;
  }
}
export function movFromCr(n: i32): u64 {
  switch (n) {
    case 0: return cr0;
    case 2: return cr2;
    case 3: return cr3;
    case 4: return cr4;
    case 8: return <u64>tprRead();
    default: raiseUD(); return 0;
  }
}

// ---------------------------------------------------------------- MSRs
export function readTsc(): u64 { return vclockNow() + tscOffset; }

export function rdmsrInsn(): void {
  if (cpl != 0) { raiseGP(0); return; }
  const idx = <u32>reg64(1);
  let v: u64 = 0;
  switch (idx) {
    case 0x10: v = readTsc(); break;
    case 0x1b: v = msrApicBase; break;
    case 0x8b: case 0xfe: case 0x2ff: v = 0; break; // microcode revision, MTRR cap/default: none
    case 0x174: v = msrSysenterCs; break;
    case 0x175: v = msrSysenterEsp; break;
    case 0x176: v = msrSysenterEip; break;
    case 0x1a0: v = msrMiscEnable; break;
    case 0x277: v = msrPat; break;
    case 0x6e0: v = msrTscDeadline; break;
    case 0xc0000080: v = efer; break;
    case 0xc0000081: v = msrStar; break;
    case 0xc0000082: v = msrLstar; break;
    case 0xc0000083: v = msrCstar; break;
    case 0xc0000084: v = msrSfmask; break;
    case 0xc0000100: v = segBase(FS); break;
    case 0xc0000101: v = segBase(GS); break;
    case 0xc0000102: v = msrKernelGsBase; break;
    case 0xc0000103: v = msrTscAux; break;
    default:
      if (idx >= 0x200 && idx <= 0x26f) { v = 0; break; } // MTRRs read as zero
      raiseGP(0); return;
  }
  setReg64(0, v & 0xffffffff); setReg64(2, v >> 32);
}

@inline function canonical(v: u64): bool { return <u64>((<i64>(v << 16)) >> 16) == v; }

export function wrmsrInsn(): void {
  if (cpl != 0) { raiseGP(0); return; }
  const idx = <u32>reg64(1);
  const v: u64 = (reg64(2) << 32) | (reg64(0) & 0xffffffff);
  switch (idx) {
    case 0x10: tscOffset = v - vclockNow(); return;
    case 0x1b: msrApicBase = v; exitRequested = true; return;
    case 0x174: msrSysenterCs = v; return;
    case 0x175: msrSysenterEsp = v; return;
    case 0x176: msrSysenterEip = v; return;
    case 0x1a0: msrMiscEnable = v; return;
    case 0x277: msrPat = v; return;
    case 0x6e0: msrTscDeadline = v; exitRequested = true; return; // the LAPIC re-arms its timer
    case 0xc0000080: {
      if ((v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) != 0) { raiseGP(0); return; }
      if ((cr0 & CR0_PG) != 0 && ((v ^ efer) & EFER_LME) != 0) { raiseGP(0); return; }
      const old = efer;
      efer = (v & ~EFER_LMA) | (efer & EFER_LMA);
      if (((old ^ efer) & EFER_NXE) != 0) tlbFlushAll();
      return;
    }
    case 0xc0000081: msrStar = v; return;
    case 0xc0000082: if (!canonical(v)) { raiseGP(0); return; } msrLstar = v; return;
    case 0xc0000083: if (!canonical(v)) { raiseGP(0); return; } msrCstar = v; return;
    case 0xc0000084: msrSfmask = v & 0xffffffff; return;
    case 0xc0000100: if (!canonical(v)) { raiseGP(0); return; } setSegBase(FS, v); updateMode(); return;
    case 0xc0000101: if (!canonical(v)) { raiseGP(0); return; } setSegBase(GS, v); updateMode(); return;
    case 0xc0000102: if (!canonical(v)) { raiseGP(0); return; } msrKernelGsBase = v; return;
    case 0xc0000103: msrTscAux = v & 0xffffffff; return;
    default:
      if (idx >= 0x200 && idx <= 0x26f) return;
      if (idx == 0x2ff) return;
      raiseGP(0); return;
  }
}

// ---------------------------------------------------------------- CPUID
function setCpuid(a: u32, b: u32, c: u32, d: u32): void {
  setReg64(0, <u64>a); setReg64(3, <u64>b); setReg64(1, <u64>c); setReg64(2, <u64>d);
}
function str4(s: string, i: i32): u32 {
  let v: u32 = 0;
  for (let k = 0; k < 4; k++) v |= <u32>(i + k < s.length ? s.charCodeAt(i + k) : 0) << (k * 8);
  return v;
}
export function cpuidInsn(): void {
  const leaf = <u32>reg64(0);
  const sub = <u32>reg64(1);
  const vendor = 'JinxJinxJinx';
  switch (leaf) {
    case 0: setCpuid(7, str4(vendor, 0), str4(vendor, 8), str4(vendor, 4)); return;
    case 1: {
      // EDX: FPU-less (no x87) TSC MSR PAE CX8 APIC PGE CMOV PAT PSE CLFSH FXSR SSE SSE2
      const edx: u32 = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 13) | (1 << 15) | (1 << 16) | (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26);
      // ECX: CX16 POPCNT TSC-deadline, OSXSAVE mirrors CR4
      let ecx: u32 = (1 << 13) | (1 << 23) | (1 << 24);
      if ((cr4 & CR4_OSXSAVE) != 0) ecx |= 1 << 27;
      setCpuid(0x00000f00, 0x00010800, ecx, edx); // family 15, CLFLUSH line 8 qwords, 1 logical CPU
      return;
    }
    case 7: setCpuid(0, sub == 0 ? (1 << 0) : 0, 0, 0); return; // FSGSBASE bit only reported; instructions absent
    case 0x80000000: setCpuid(0x80000008, str4(vendor, 0), str4(vendor, 8), str4(vendor, 4)); return;
    case 0x80000001: setCpuid(0, 0, (1 << 0) | (1 << 5), (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29)); return;
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const brand = 'jinx x86-64 emulator';
      const o = <i32>(leaf - 0x80000002) * 16;
      setCpuid(str4(brand, o), str4(brand, o + 4), str4(brand, o + 8), str4(brand, o + 12));
      return;
    }
    case 0x80000008: setCpuid(0x3028, 0, 0, 0); return; // 40-bit physical, 48-bit linear addresses
    default: setCpuid(0, 0, 0, 0); return;
  }
}

// ---------------------------------------------------------------- I/O permission
// Protected mode with CPL > IOPL consults the TSS I/O bitmap (SDM vol. 1 s19.5.2).
export function ioAllowed(port: i32, size: i32): bool {
  if (!protMode) return true;
  const iopl = <i32>((flagsOther >> 12) & 3);
  if (cpl <= iopl) return true;
  if ((segAttr(TR) & 0xf) == 0 || segLimit(TR) < 0x67) return false;
  const base = segBase(TR);
  const mapOff = <u32>sysRead(base + 0x66, 2);
  const byteOff = mapOff + (<u32>port >> 3);
  if (byteOff + 1 > segLimit(TR)) return false;
  const bits = <u32>sysRead(base + <u64>byteOff, 2);
  const mask: u32 = ((1 << <u32>size) - 1) << (<u32>port & 7);
  return (bits & mask) == 0;
}

// ---------------------------------------------------------------- descriptor-table instructions
export function group6(): void {
  const op = mReg & 7;
  switch (op) {
    case 0: if (mMod == 3) setReg(mRm, pOp, <u64>segSel(LDTR)); else writeE(2, <u64>segSel(LDTR)); return;
    case 1: if (mMod == 3) setReg(mRm, pOp, <u64>segSel(TR)); else writeE(2, <u64>segSel(TR)); return;
    case 2: case 3: {
      if (!protMode) { raiseUD(); return; }
      if (cpl != 0) { raiseGP(0); return; }
      const sel = <u32>readE(2) & 0xffff;
      if (op == 2 && (sel & 0xfffc) == 0) { setSeg(LDTR, 0, 0, 0, ATTR_UNUSABLE); return; }
      if ((sel & 4) != 0 || (sel & 0xfffc) == 0) { raiseGP(<i32>(sel & 0xfffc)); return; }
      const d = readDesc(sel, 13);
      const a = descAttr(d);
      const type = a & 0x1f;
      if (op == 2 ? type != 2 : (type != 9 && type != 1)) { raiseGP(<i32>(sel & 0xfffc)); return; }
      if ((a & ATTR_P) == 0) { raise(11, <i32>(sel & 0xfffc), true); return; }
      let base = descBase(d);
      if ((efer & EFER_LMA) != 0) base |= (sysRead(descAddr + 8, 8) & 0xffffffff) << 32; // 16-byte system descriptor
      if (op == 3) { sysWrite(descAddr + 5, 1, ((d >> 40) & 0xff) | 2); } // mark busy
      setSeg(op == 2 ? LDTR : TR, sel, base, descLimit(d), op == 3 ? a | 2 : a);
      return;
    }
    case 4: case 5: { // VERR / VERW
      const sel = <u32>readE(2) & 0xffff;
      let ok = false;
      if ((sel & 0xfffc) != 0) {
        const idx: u64 = <u64>(sel & 0xfff8);
        const limit: u64 = (sel & 4) != 0 ? <u64>segLimit(LDTR) : <u64>gdtrLimit;
        if (idx + 7 <= limit) {
          const d = readDesc(sel, 13);
          const a = descAttr(d);
          if ((a & ATTR_S) != 0) {
            const code = (a & 8) != 0;
            ok = op == 4 ? (!code || (a & 2) != 0) : (!code && (a & 2) != 0);
            if (ok && !(code && (a & 4) != 0)) ok = attrDpl(a) >= cpl && attrDpl(a) >= <i32>(sel & 3);
          }
        }
      }
      const f = arithFlags();
      setArith(ok ? f | ZF : f & ~ZF);
      return;
    }
    default: raiseUD(); return;
  }
}

// LAR / LSL: report descriptor rights / limit when visible at the current privilege level.
function visibleDesc(sel: u32): u64 {
  if ((sel & 0xfffc) == 0) return 0;
  const idx: u64 = <u64>(sel & 0xfff8);
  const limit: u64 = (sel & 4) != 0 ? <u64>segLimit(LDTR) : <u64>gdtrLimit;
  if (idx + 7 > limit) return 0;
  const d = readDesc(sel, 13);
  const a = descAttr(d);
  const conformingCode = (a & ATTR_S) != 0 && (a & 0xc) == 0xc;
  if (!conformingCode && (attrDpl(a) < cpl || attrDpl(a) < <i32>(sel & 3))) return 0;
  return d | 1; // low bit forced so a valid descriptor is never 0
}
export function lar(size: i32): void {
  const d = visibleDesc(<u32>readE(2) & 0xffff);
  const f = arithFlags();
  if (d == 0) { setArith(f & ~ZF); return; }
  writeG(size, (d >> 32) & 0x00f0ff00);
  setArith(f | ZF);
}
export function lsl(size: i32): void {
  const d = visibleDesc(<u32>readE(2) & 0xffff);
  const f = arithFlags();
  if (d == 0) { setArith(f & ~ZF); return; }
  writeG(size, <u64>descLimit(d & ~(<u64>1)));
  setArith(f | ZF);
}

export function group7(): void {
  const op = mReg & 7;
  if (mMod == 3) {
    const rm = mRm & 7;
    if (op == 1 && (rm == 0 || rm == 1)) { // MONITOR / MWAIT: treat MWAIT as a NOP hint
      if (cpl != 0) { raiseGP(0); return; }
      return;
    }
    if (op == 1 && (rm == 2 || rm == 3)) { raiseUD(); return; } // CLAC/STAC: no SMAP
    if (op == 2 && rm == 0) { // XGETBV
      if ((cr4 & CR4_OSXSAVE) == 0) { raiseUD(); return; }
      if (<u32>reg64(1) != 0) { raiseGP(0); return; }
      setReg64(0, xcr0 & 0xffffffff); setReg64(2, xcr0 >> 32);
      return;
    }
    if (op == 2 && rm == 1) { // XSETBV
      if ((cr4 & CR4_OSXSAVE) == 0) { raiseUD(); return; }
      if (cpl != 0 || <u32>reg64(1) != 0) { raiseGP(0); return; }
      const v = (reg64(2) << 32) | (reg64(0) & 0xffffffff);
      if ((v & 1) == 0 || (v & ~(<u64>3)) != 0) { raiseGP(0); return; }
      xcr0 = v;
      return;
    }
    if (op == 7 && rm == 0) { // SWAPGS
      if (!mode64) { raiseUD(); return; }
      if (cpl != 0) { raiseGP(0); return; }
      const t = segBase(GS);
      setSegBase(GS, msrKernelGsBase);
      msrKernelGsBase = t;
      updateMode();
      return;
    }
    if (op == 7 && rm == 1) { // RDTSCP
      if ((cr4 & 4) != 0 && cpl != 0) { raiseGP(0); return; }
      const t = readTsc();
      setReg64(0, t & 0xffffffff); setReg64(2, t >> 32); setReg64(1, msrTscAux & 0xffffffff);
      return;
    }
    if (op == 4) { setReg(mRm, pOp, cr0 & 0xffff); return; } // SMSW reg
    if (op == 6) { lmsw(<u64>getReg(mRm, 2)); return; }
    raiseUD(); return;
  }
  const lin = mLin();
  switch (op) {
    case 0: case 1: { // SGDT / SIDT
      const base = op == 0 ? gdtrBase : idtrBase;
      const limit = op == 0 ? gdtrLimit : idtrLimit;
      writeLin(lin, 2, <u64>limit);
      writeLin(lin + 2, mode64 ? 8 : 4, mode64 ? base : base & 0xffffffff);
      return;
    }
    case 2: case 3: { // LGDT / LIDT
      if (cpl != 0 && protMode) { raiseGP(0); return; }
      const limit = <u32>readLin(lin, 2);
      let base = readLin(lin + 2, mode64 ? 8 : 4);
      if (!mode64 && pOp == 2) base &= 0xffffff;
      if (op == 2) { gdtrBase = base; gdtrLimit = limit; } else { idtrBase = base; idtrLimit = limit; }
      return;
    }
    case 4: writeLin(lin, 2, cr0 & 0xffff); return; // SMSW m16
    case 6: lmsw(readLin(lin, 2)); return;
    case 7: { // INVLPG
      if (cpl != 0 && protMode) { raiseGP(0); return; }
      tlbFlushPage(lin);
      return;
    }
    default: raiseUD(); return;
  }
}

function lmsw(v: u64): void {
  if (cpl != 0 && protMode) { raiseGP(0); return; }
  // LMSW loads PE MP EM TS and cannot clear PE (SDM vol. 2 "LMSW").
  const nv = (cr0 & ~(<u64>0xe)) | (v & 0xf) | (cr0 & CR0_PE);
  movToCr(0, nv);
}
