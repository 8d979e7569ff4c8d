// Block engine: runs pre-decoded blocks (predecode.ts, layout in codecache.ts) until something
// needs the outer run loop (an instruction that may change the mode, IF or paging; an exit
// request; a write over decoded code; the end of the budget).
//
// Invariants kept for the abort protocol (a fault unwinds through `unreachable`):
// - The lazy flags live in memory next to the registers (flags.ts), so a fault sees them as they
//   are; a record whose flags are overwritten before anything can observe them skips them.
// - RIP and icount are not maintained per instruction. Slow paths first call syncPos(), which
//   derives the instruction's RIP and index from the block (startRip = RIP, icount = retired
//   instructions before it); fast paths cannot fault.
// - A block only runs when all of its instructions fit in the budget, so run(budget) never
//   retires more than `budget` instructions; the last few of a slice go through step().
// - Registers and memory are written only after the last access that may fault.
//
// The dispatch loop carries only the record pointer and the register file base; per-block state
// is in globals. Handlers are @inline helpers specialised by constant arguments (ALU op, size,
// condition), which Binaryen folds into one case each.
import {
  REGS, STOPREC, rip, startRip, icount, mode64, userShift, exitRequested, codeDirty, segEbase,
  linMask, CS,
} from './state';
import {
  cfOf, condOf, F_NONE, F_ADD, F_SUB, F_LOGIC, F_ADC, F_SBB, F_INC, F_DEC, F_SHL, F_SHR, F_SAR, CF, OF,
  FL_K, FL_RES, FL_DST, FL_SRC, FK_C,
} from './flags';
import { readLin, writeLin, readLinRmw, writeLinRmw, raiseGP, translateCode, tlbLookup, accSeg, accShift } from './mem';
import { resultFlags, smulh } from './alu';
import { step } from './interp';
import {
  HDR, B_VALID, B_NINS, FL_DEAD, recSize, cachedBlock, cacheGen, cacheMode, setCacheMode, flushCode,
  H_STOP, H_FB, H_NOP, H_MOV_RR32, H_MOV_RR64, H_MOV_RI32, H_MOV_RI64S, H_MOV_RM32, H_MOV_RM64, H_MOV_MR32,
  H_MOV_MR64, H_MOV_MI32, H_MOV_MI64, H_LEA32, H_LEA64, H_INC32, H_INC64, H_DEC32, H_DEC64, H_NEG32, H_NEG64,
  H_NOT32, H_NOT64, H_SHL32, H_SHL64, H_SHR32, H_SHR64, H_SAR32, H_SAR64, H_SHC32, H_SHC64,
  H_MOVZX_R8, H_MOVZX_R16, H_MOVZX_M8, H_MOVZX_M16, H_MOVSX_R8,
  H_MOVSX_R16, H_MOVSX_M8, H_MOVSX_M16, H_MOVSXD_R, H_MOVSXD_M, H_IMUL_RR32, H_IMUL_RR64, H_IMUL_RM32,
  H_IMUL_RM64, H_IMUL_RRI32, H_IMUL_RRI64, H_IMUL_RMI32, H_IMUL_RMI64, H_SETCC_R, H_SETCC_M,
  H_CMOV_RR32, H_CMOV_RR64, H_CMOV_RM32, H_CMOV_RM64, H_XCHG_RR32, H_XCHG_RR64, H_CDQ32, H_CDQ64,
  H_CDQE32, H_CDQE64, H_PUSH_R, H_PUSH_I, H_POP_R, H_MOV8_RR, H_MOV8_RI, H_MOV8_RM, H_MOV8_MR, H_MOV8_MI,
  H_INC32M, H_INC64M, H_LEAVE, H_PUSH_M, H_MOV_RI64, H_FALL, H_FBEND, H_JMP, H_JCC, H_CALL, H_RET,
  H_JMP_R, H_JMP_M, H_CALL_R, H_CALL_M, H_JMP32, H_JCC32, H_ALU,
  A_RR32, A_RR64, A_RI32, A_RI64, A_RM32, A_RM64, A_MR32, A_MR64, A_MI32, A_MI64, A_RR8, A_RI8, A_RM8,
  A_MR8, A_MI8,
} from './codecache';
import { buildBlock, MAX_INS } from './predecode';

export const R_CONT = 0;   // back to the run loop (exit request, context change, ...)
export const R_STEP = 1;   // the next block does not fit in the budget: single-step

// Where a STOP record resumes: the instruction after the one whose slow path asked to stop.
let stopRip: u64 = 0;
let stopIc: u64 = 0;

// Per-block state of execBlocks, kept out of its locals.
let blk: usize = 0;       // current block
let bip: u64 = 0;         // RIP of its first instruction
let icBlk: u64 = 0;       // icount before it
let endIc: u64 = 0;       // icount limit of this run
let ripMask: u64 = 0;
let canChain = false;
let rbit: u32 = 0;        // TLB permission bits for reads / writes at the current CPL
let wbit: u32 = 0;

const DEAD: u64 = <u64>FL_DEAD << 40;
const TLB_OFF: usize = 0x10000; // TLB - REGS (state.ts)
const SSEG = 2;

// ---- record fields (h = the record's first 8 bytes) ----
@inline function fR(h: u64): usize { return <usize>(h >> 13) & 0x7f8; }    // r * 8
@inline function fB(h: u64): usize { return <usize>(h >> 21) & 0x7f8; }    // b * 8
@inline function fR8(h: u64): usize { return <usize>(h >> 16) & 0xff; }    // 8-bit register offset
@inline function fB8(h: u64): usize { return <usize>(h >> 24) & 0xff; }
@inline function fAux(h: u64): u32 { return <u32>(h >> 56); }
@inline function fSeg(h: u64): i32 { return <i32>(h >> 48) & 7; }
@inline function imm32s(p: usize): u64 { return <u64><i64>load<i32>(p, 12); }

// Effective (linear) address of the record's memory operand.
@inline function eaOf(R: usize, h: u64, p: usize): u64 {
  let a = load<u64>(R + fB(h)) + (load<u64>(R + (<usize>(h >> 29) & 0x7f8)) << ((h >> 40) & 3)) + <u64><i64>load<i32>(p, 8);
  if ((h & (<u64>0xc << 40)) != 0) a = eaAdjust(a, h);
  return a;
}
function eaAdjust(a: u64, h: u64): u64 {
  const a32 = (h & (<u64>8 << 40)) != 0;
  if (a32) a &= 0xffffffff;
  if ((h & (<u64>4 << 40)) != 0) a += segEbase(fSeg(h));
  if (a32) a &= 0xffffffff;
  return a;
}

// TLB hit for an access of `size` bytes needing permission bit `bit`: host address, else 0.
@inline function tlbHit(R: usize, a: u64, bit: u32, size: u32): usize {
  const e = R + TLB_OFF + ((<usize>(a >> 12) & 4095) << 4);
  if (load<u64>(e) == (a >> 12) && (load<u32>(e, 8) & bit) != 0 && (<u32>a & 0xfff) <= 4096 - size) {
    return <usize>load<u32>(e, 12) + (<usize>a & 0xfff);
  }
  return 0;
}

@inline function mask(size: u32): u64 { return size == 8 ? 0xffffffffffffffff : (size == 4 ? 0xffffffff : (size == 2 ? 0xffff : 0xff)); }
@inline function ldN(hp: usize, size: u32): u64 {
  return size == 8 ? load<u64>(hp) : (size == 4 ? <u64>load<u32>(hp) : (size == 2 ? <u64>load<u16>(hp) : <u64>load<u8>(hp)));
}
@inline function stN(hp: usize, size: u32, v: u64): void {
  if (size == 8) store<u64>(hp, v); else if (size == 4) store<u32>(hp, <u32>v); else if (size == 2) store<u16>(hp, <u16>v); else store<u8>(hp, <u8>v);
}
// Registers by size: `off` is fR/fB (32/64-bit) or fR8/fB8 (8-bit); 32-bit writes zero-extend.
@inline function rdReg(R: usize, off: usize, size: u32): u64 {
  return size == 8 ? load<u64>(R + off) : (size == 4 ? <u64>load<u32>(R + off) : <u64>load<u8>(R + off));
}
@inline function wrReg(R: usize, off: usize, size: u32, v: u64): void {
  if (size == 8) store<u64>(R + off, v); else if (size == 4) store<u64>(R + off, v & 0xffffffff); else store<u8>(R + off, <u8>v);
}
@inline function immOf(p: usize, size: u32): u64 {
  return size == 8 ? <u64><i64>load<i32>(p, 12) : (size == 4 ? <u64>load<u32>(p, 12) : <u64>load<u8>(p, 12));
}

@inline function canonical(v: u64): bool { return <u64>((<i64>(v << 16)) >> 16) == v; }

// ---- slow paths ----
// RIP / icount of the instruction at record p of the current block: startRip, rip, icount, and
// where a STOP resumes.
function syncPos(p: usize): void {
  let q = blk + HDR;
  let off: u64 = 0;
  let idx: u64 = 0;
  while (q < p) {
    const h = load<u64>(q);
    off += (h >> 8) & 0xff;
    idx++;
    q += recSize(<i32>(h & 0xff));
  }
  const ip = (bip + off) & ripMask;
  rip = ip; startRip = ip;
  icount = icBlk + idx;
  stopRip = (ip + ((load<u64>(p) >> 8) & 0xff)) & ripMask;
  stopIc = icount + 1;
}
function slowRd(p: usize, a: u64, size: u32, seg: i32): u64 {
  syncPos(p);
  accSeg = seg;
  return readLin(a, <i32>size);
}
function slowWr(p: usize, a: u64, size: u32, v: u64, seg: i32): void {
  syncPos(p);
  accSeg = seg;
  writeLin(a, <i32>size, v);
}
function slowRmw(p: usize, a: u64, size: u32, seg: i32): u64 {
  syncPos(p);
  accSeg = seg;
  return readLinRmw(a, <i32>size);
}
function slowGP(p: usize): void {
  syncPos(p);
  raiseGP(0);
}
// After a slow path: the next record, or STOP if the instruction asked to leave the engine
// (exit request, code written).
@inline function stopNext(p: usize, size: usize): usize {
  return exitRequested || codeDirty ? STOPREC : p + size;
}

// ---- flags (the lazy record next to the registers, see flags.ts) ----
@inline function setF(R: usize, k: u32, res: u64, dst: u64, src: u64): void {
  store<u32>(R + FL_K, k); store<u64>(R + FL_RES, res); store<u64>(R + FL_DST, dst); store<u64>(R + FL_SRC, src);
}
@inline function curCF(R: usize): bool {
  return cfOf(load<u32>(R + FL_K), load<u64>(R + FL_RES), load<u64>(R + FL_DST), load<u64>(R + FL_SRC));
}
@inline function condR(R: usize, cc: i32): bool {
  return condOf(cc, load<u32>(R + FL_K), load<u64>(R + FL_RES), load<u64>(R + FL_DST), load<u64>(R + FL_SRC));
}

// ---- ALU: op 0 add 1 or 2 adc 3 sbb 4 and 5 sub 6 xor 7 cmp 8 test ----
@inline function aluCalc(op: u32, d: u64, s: u64, c: u64): u64 {
  switch (op) {
    case 0: return d + s;
    case 1: return d | s;
    case 2: return d + s + c;
    case 3: return d - s - c;
    case 4: case 8: return d & s;
    case 6: return d ^ s;
    default: return d - s;
  }
}
@inline function aluKind(op: u32): u32 {
  if (op == 0) return F_ADD;
  if (op == 2) return F_ADC;
  if (op == 3) return F_SBB;
  if (op == 5 || op == 7) return F_SUB;
  return F_LOGIC;
}
@inline function carryIn(R: usize, op: u32): u64 { return op == 2 || op == 3 ? (curCF(R) ? 1 : 0) : 0; }
@inline function aluFlags(R: usize, op: u32, size: u32, r: u64, d: u64, s: u64, c: u64): void {
  const k = aluKind(op) | (size << 8) | (<u32>c << 16);
  if (aluKind(op) == F_LOGIC) { store<u32>(R + FL_K, k); store<u64>(R + FL_RES, r); }
  else setF(R, k, r, d, s);
}
// Register destination; source: 0 register, 1 immediate, 2 memory.
@inline function aluReg(R: usize, p: usize, h: u64, op: u32, size: u32, src: u32): usize {
  const ro = size == 1 ? fR8(h) : fR(h);
  const d = rdReg(R, ro, size);
  let s: u64;
  let next = p + 16;
  if (src == 0) s = rdReg(R, size == 1 ? fB8(h) : fB(h), size);
  else if (src == 1) s = immOf(p, size);
  else {
    const a = eaOf(R, h, p);
    const hp = tlbHit(R, a, rbit, size);
    if (hp != 0) s = ldN(hp, size);
    else { s = slowRd(p, a, size, fSeg(h)); next = stopNext(p, 16); }
  }
  const c = carryIn(R, op);
  const r = aluCalc(op, d, s, c) & mask(size);
  if ((h & DEAD) == 0) aluFlags(R, op, size, r, d, s, c);
  if (op < 7) wrReg(R, ro, size, r);
  return next;
}
// Memory destination (CMP / TEST only read it); source register or immediate.
@inline function aluMem(R: usize, p: usize, h: u64, op: u32, size: u32, imm: bool): usize {
  const s = imm ? immOf(p, size) : rdReg(R, size == 1 ? fR8(h) : fR(h), size);
  const a = eaOf(R, h, p);
  const rmw = op < 7;
  const hp = tlbHit(R, a, rmw ? wbit : rbit, size);
  if (hp != 0) {
    const d = ldN(hp, size);
    const c = carryIn(R, op);
    const r = aluCalc(op, d, s, c) & mask(size);
    if (rmw) stN(hp, size, r);
    aluFlags(R, op, size, r, d, s, c);
    return p + 16;
  }
  const d = rmw ? slowRmw(p, a, size, fSeg(h)) : slowRd(p, a, size, fSeg(h));
  const c = carryIn(R, op);
  const r = aluCalc(op, d, s, c) & mask(size);
  if (rmw) writeLinRmw(<i32>size, r);
  aluFlags(R, op, size, r, d, s, c);
  return stopNext(p, 16);
}

// ---- moves ----
@inline function movLoad(R: usize, p: usize, h: u64, size: u32): usize {
  const a = eaOf(R, h, p);
  const hp = tlbHit(R, a, rbit, size);
  const ro = size == 1 ? fR8(h) : fR(h);
  if (hp != 0) { wrReg(R, ro, size, ldN(hp, size)); return p + 16; }
  wrReg(R, ro, size, slowRd(p, a, size, fSeg(h)));
  return stopNext(p, 16);
}
@inline function movStore(R: usize, p: usize, h: u64, size: u32, imm: bool): usize {
  const v = imm ? immOf(p, size) : rdReg(R, size == 1 ? fR8(h) : fR(h), size);
  const a = eaOf(R, h, p);
  const hp = tlbHit(R, a, wbit, size);
  if (hp != 0) { stN(hp, size, v); return p + 16; }
  slowWr(p, a, size, v, fSeg(h));
  return stopNext(p, 16);
}
// MOVZX / MOVSX / MOVSXD from memory: from = 1, 2, 4 bytes; sx: sign-extend to 32 (aux 0) / 64 bits.
@inline function movxLoad(R: usize, p: usize, h: u64, from: u32, sx: bool): usize {
  const a = eaOf(R, h, p);
  const hp = tlbHit(R, a, rbit, from);
  let next = p + 16;
  let v: u64;
  if (hp != 0) v = ldN(hp, from);
  else { v = slowRd(p, a, from, fSeg(h)); next = stopNext(p, 16); }
  if (sx) {
    v = from == 1 ? <u64><i64><i8><u8>v : (from == 2 ? <u64><i64><i16><u16>v : <u64><i64><i32><u32>v);
    if (from != 4 && fAux(h) == 0) v &= 0xffffffff;
  }
  store<u64>(R + fR(h), v);
  return next;
}
// Memory operand read for IMUL / CMOV / PUSH: value, with `memNext` set to the next record.
let memNext: usize = 0;
@inline function readOp(R: usize, p: usize, h: u64, size: u32): u64 {
  const a = eaOf(R, h, p);
  const hp = tlbHit(R, a, rbit, size);
  if (hp != 0) { memNext = p + 16; return ldN(hp, size); }
  const v = slowRd(p, a, size, fSeg(h));
  memNext = stopNext(p, 16);
  return v;
}

// ---- shifts by an immediate (count != 0) or CL ----
@inline function shiftCalc(kind: u32, d: u64, c: u64, bits: u64): u64 {
  if (kind == <u32>F_SHL) return d << c;
  if (kind == <u32>F_SHR) return d >> c;
  const sh = 64 - bits;
  return <u64>((<i64>(d << sh) >> sh) >> c);
}
@inline function shiftReg(R: usize, p: usize, h: u64, kind: u32, size: u32, byCl: bool): void {
  const rr = R + fR(h);
  const d = size == 8 ? load<u64>(rr) : <u64>load<u32>(rr);
  const c: u64 = byCl ? <u64>(load<u8>(R + 8) & (size == 8 ? 63 : 31)) : <u64>load<i32>(p, 12);
  if (byCl && c == 0) { if (size == 4) store<u64>(rr, d); return; } // flags unchanged; 32-bit zero-extends
  const r = shiftCalc(kind, d, c, <u64>size << 3) & mask(size);
  if ((h & DEAD) == 0) setF(R, kind | (size << 8), r, d, c);
  store<u64>(rr, r);
}

// ---- IMUL (flags materialized: CF = OF = overflow) ----
function mulArith(lo: u64, size: i32, ovf: bool): u64 { return resultFlags(lo, size, ovf ? (CF | OF) : 0); }
// form: 0 r, r  1 r, m  2 r, r, imm  3 r, m, imm
@inline function imul(R: usize, p: usize, h: u64, size: u32, form: u32): usize {
  let next = p + 16;
  let a: u64;
  if (form == 0) a = rdReg(R, fR(h), size);
  else if (form == 2) a = rdReg(R, fB(h), size);
  else { a = readOp(R, p, h, size); next = memNext; }
  const b: u64 = form == 0 ? rdReg(R, fB(h), size) : (form == 1 ? rdReg(R, fR(h), size) : imm32s(p));
  let lo: u64; let ovf: bool;
  if (size == 8) { lo = a * b; ovf = smulh(a, b) != <u64>(<i64>lo >> 63); }
  else {
    const prod = <i64><i32><u32>a * <i64><i32><u32>b;
    lo = <u64>prod & 0xffffffff;
    ovf = <i64><i32><u32>prod != prod;
  }
  if ((h & DEAD) == 0) { store<u32>(R + FL_K, F_NONE | (8 << 8)); store<u64>(R + FL_RES, mulArith(lo, <i32>size, ovf)); }
  store<u64>(R + fR(h), lo);
  return next;
}

@inline function cmov(R: usize, p: usize, h: u64, size: u32, mem: bool): usize {
  let next = p + 16;
  let v: u64;
  if (mem) { v = readOp(R, p, h, size); next = memNext; }
  else v = rdReg(R, fB(h), size);
  const rr = R + fR(h);
  // the 32-bit form zero-extends the destination even when the condition is false
  if (condR(R, <i32>fAux(h))) store<u64>(rr, v);
  else if (size == 4) store<u64>(rr, <u64>load<u32>(rr));
  return next;
}

// INC / DEC of a register or memory; CF is kept (FK_C).
@inline function incDec(R: usize, p: usize, h: u64, size: u32, dec: bool, mem: bool): usize {
  if (!mem) {
    const rr = R + fR(h);
    const d = size == 8 ? load<u64>(rr) : <u64>load<u32>(rr);
    const r = (dec ? d - 1 : d + 1) & mask(size);
    if ((h & DEAD) == 0) setF(R, <u32>(dec ? F_DEC : F_INC) | (size << 8) | (curCF(R) ? FK_C : 0), r, d, 1);
    store<u64>(rr, r);
    return p + 16;
  }
  const a = eaOf(R, h, p);
  const hp = tlbHit(R, a, wbit, size);
  let d: u64;
  if (hp != 0) d = ldN(hp, size);
  else d = slowRmw(p, a, size, fSeg(h));
  const r = (dec ? d - 1 : d + 1) & mask(size);
  setF(R, <u32>(dec ? F_DEC : F_INC) | (size << 8) | (curCF(R) ? FK_C : 0), r, d, 1);
  if (hp != 0) { stN(hp, size, r); return p + 16; }
  writeLinRmw(<i32>size, r);
  return stopNext(p, 16);
}

// ---- stack (64-bit mode) ----
@inline function push64(R: usize, p: usize, v: u64): usize {
  const sp = load<u64>(R + 32) - 8;
  const hp = tlbHit(R, sp, wbit, 8);
  let next = p + 16;
  if (hp != 0) store<u64>(hp, v);
  else { slowWr(p, sp, 8, v, SSEG); next = stopNext(p, 16); }
  store<u64>(R + 32, sp);
  return next;
}

// The block starting at RIP t (building it if needed). May fault (code fetch): the caller has
// set startRip = t and synced icount.
function findBlock(t: u64): usize {
  const lin = (segEbase(CS) + t) & linMask;
  let h = tlbLookup(lin, <u32>4 << accShift);
  if (h == 0) h = translateCode(lin);
  const key = <u32>(h + (<usize>lin & 0xfff));
  const b = cachedBlock(key);
  if (b != 0) return b;
  return buildBlock(h, <u32>lin & 0xfff);
}

// Runs blocks from RIP while they fit before icount reaches `end`.
export function execBlocks(end: u64): i32 {
  if (end - icount < <u64>MAX_INS) return R_STEP;
  const m = mode64 ? 1 : 2;
  if (m != cacheMode) { flushCode(); setCacheMode(m); }
  canChain = mode64 || segEbase(CS) == 0;
  ripMask = mode64 ? 0xffffffffffffffff : 0xffffffff;
  endIc = end;
  rbit = <u32>1 << userShift;
  wbit = <u32>2 << userShift;
  const R = REGS;
  startRip = rip;
  blk = findBlock(rip);
  codeDirty = false;
  bip = rip;
  icBlk = icount;
  let p = blk + HDR;
  store<u64>(R + 136, bip);
  let t: u64 = 0;
  let slot: usize = 0;
  let tstop = false;

  while (true) {
    const h = load<u64>(p);
    switch (<i32>(h & 0xff)) {
      case H_NOP: p += 16; continue;
      // ---------------------------------------------------------------- moves
      case H_MOV_RR32: store<u64>(R + fR(h), <u64>load<u32>(R + fB(h))); p += 16; continue;
      case H_MOV_RR64: store<u64>(R + fR(h), load<u64>(R + fB(h))); p += 16; continue;
      case H_MOV_RI32: store<u64>(R + fR(h), <u64>load<u32>(p, 12)); p += 16; continue;
      case H_MOV_RI64S: store<u64>(R + fR(h), imm32s(p)); p += 16; continue;
      case H_MOV_RI64: store<u64>(R + fR(h), load<u64>(p, 16)); p += 32; continue;
      case H_MOV_RM32: p = movLoad(R, p, h, 4); continue;
      case H_MOV_RM64: p = movLoad(R, p, h, 8); continue;
      case H_MOV_MR32: p = movStore(R, p, h, 4, false); continue;
      case H_MOV_MR64: p = movStore(R, p, h, 8, false); continue;
      case H_MOV_MI32: p = movStore(R, p, h, 4, true); continue;
      case H_MOV_MI64: p = movStore(R, p, h, 8, true); continue;
      case H_MOV8_RR: store<u8>(R + fR8(h), load<u8>(R + fB8(h))); p += 16; continue;
      case H_MOV8_RI: store<u8>(R + fR8(h), load<u8>(p, 12)); p += 16; continue;
      case H_MOV8_RM: p = movLoad(R, p, h, 1); continue;
      case H_MOV8_MR: p = movStore(R, p, h, 1, false); continue;
      case H_MOV8_MI: p = movStore(R, p, h, 1, true); continue;
      case H_LEA32: store<u64>(R + fR(h), eaOf(R, h, p) & 0xffffffff); p += 16; continue;
      case H_LEA64: store<u64>(R + fR(h), eaOf(R, h, p)); p += 16; continue;
      case H_MOVZX_R8: store<u64>(R + fR(h), <u64>load<u8>(R + fB8(h))); p += 16; continue;
      case H_MOVZX_R16: store<u64>(R + fR(h), <u64>load<u16>(R + fB(h))); p += 16; continue;
      case H_MOVSX_R8: {
        let v = <u64><i64>load<i8>(R + fB8(h));
        if (fAux(h) == 0) v &= 0xffffffff;
        store<u64>(R + fR(h), v); p += 16; continue;
      }
      case H_MOVSX_R16: {
        let v = <u64><i64>load<i16>(R + fB(h));
        if (fAux(h) == 0) v &= 0xffffffff;
        store<u64>(R + fR(h), v); p += 16; continue;
      }
      case H_MOVSXD_R: store<u64>(R + fR(h), <u64><i64>load<i32>(R + fB(h))); p += 16; continue;
      case H_MOVZX_M8: p = movxLoad(R, p, h, 1, false); continue;
      case H_MOVZX_M16: p = movxLoad(R, p, h, 2, false); continue;
      case H_MOVSX_M8: p = movxLoad(R, p, h, 1, true); continue;
      case H_MOVSX_M16: p = movxLoad(R, p, h, 2, true); continue;
      case H_MOVSXD_M: p = movxLoad(R, p, h, 4, true); continue;
      case H_XCHG_RR32: {
        const a = <u64>load<u32>(R + fR(h)); const b = <u64>load<u32>(R + fB(h));
        store<u64>(R + fB(h), a); store<u64>(R + fR(h), b);
        p += 16; continue;
      }
      case H_XCHG_RR64: {
        const a = load<u64>(R + fR(h)); const b = load<u64>(R + fB(h));
        store<u64>(R + fB(h), a); store<u64>(R + fR(h), b);
        p += 16; continue;
      }
      case H_CDQ32: store<u64>(R + 16, (load<u32>(R) & 0x80000000) != 0 ? 0xffffffff : 0); p += 16; continue;
      case H_CDQ64: store<u64>(R + 16, <u64>(<i64>load<u64>(R) >> 63)); p += 16; continue;
      case H_CDQE32: { const v: i32 = <i32>load<i16>(R); store<u64>(R, <u64><u32>v); p += 16; continue; }
      case H_CDQE64: store<u64>(R, <u64><i64>load<i32>(R)); p += 16; continue;
      // ---------------------------------------------------------------- ALU
      // add
      case H_ALU + 0 * 16 + A_RR32: p = aluReg(R, p, h, 0, 4, 0); continue;
      case H_ALU + 0 * 16 + A_RR64: p = aluReg(R, p, h, 0, 8, 0); continue;
      case H_ALU + 0 * 16 + A_RI32: p = aluReg(R, p, h, 0, 4, 1); continue;
      case H_ALU + 0 * 16 + A_RI64: p = aluReg(R, p, h, 0, 8, 1); continue;
      case H_ALU + 0 * 16 + A_RM32: p = aluReg(R, p, h, 0, 4, 2); continue;
      case H_ALU + 0 * 16 + A_RM64: p = aluReg(R, p, h, 0, 8, 2); continue;
      case H_ALU + 0 * 16 + A_MR32: p = aluMem(R, p, h, 0, 4, false); continue;
      case H_ALU + 0 * 16 + A_MR64: p = aluMem(R, p, h, 0, 8, false); continue;
      case H_ALU + 0 * 16 + A_MI32: p = aluMem(R, p, h, 0, 4, true); continue;
      case H_ALU + 0 * 16 + A_MI64: p = aluMem(R, p, h, 0, 8, true); continue;
      case H_ALU + 0 * 16 + A_RR8: p = aluReg(R, p, h, 0, 1, 0); continue;
      case H_ALU + 0 * 16 + A_RI8: p = aluReg(R, p, h, 0, 1, 1); continue;
      case H_ALU + 0 * 16 + A_RM8: p = aluReg(R, p, h, 0, 1, 2); continue;
      case H_ALU + 0 * 16 + A_MR8: p = aluMem(R, p, h, 0, 1, false); continue;
      case H_ALU + 0 * 16 + A_MI8: p = aluMem(R, p, h, 0, 1, true); continue;
      // or
      case H_ALU + 1 * 16 + A_RR32: p = aluReg(R, p, h, 1, 4, 0); continue;
      case H_ALU + 1 * 16 + A_RR64: p = aluReg(R, p, h, 1, 8, 0); continue;
      case H_ALU + 1 * 16 + A_RI32: p = aluReg(R, p, h, 1, 4, 1); continue;
      case H_ALU + 1 * 16 + A_RI64: p = aluReg(R, p, h, 1, 8, 1); continue;
      case H_ALU + 1 * 16 + A_RM32: p = aluReg(R, p, h, 1, 4, 2); continue;
      case H_ALU + 1 * 16 + A_RM64: p = aluReg(R, p, h, 1, 8, 2); continue;
      case H_ALU + 1 * 16 + A_MR32: p = aluMem(R, p, h, 1, 4, false); continue;
      case H_ALU + 1 * 16 + A_MR64: p = aluMem(R, p, h, 1, 8, false); continue;
      case H_ALU + 1 * 16 + A_MI32: p = aluMem(R, p, h, 1, 4, true); continue;
      case H_ALU + 1 * 16 + A_MI64: p = aluMem(R, p, h, 1, 8, true); continue;
      case H_ALU + 1 * 16 + A_RR8: p = aluReg(R, p, h, 1, 1, 0); continue;
      case H_ALU + 1 * 16 + A_RI8: p = aluReg(R, p, h, 1, 1, 1); continue;
      case H_ALU + 1 * 16 + A_RM8: p = aluReg(R, p, h, 1, 1, 2); continue;
      case H_ALU + 1 * 16 + A_MR8: p = aluMem(R, p, h, 1, 1, false); continue;
      case H_ALU + 1 * 16 + A_MI8: p = aluMem(R, p, h, 1, 1, true); continue;
      // adc
      case H_ALU + 2 * 16 + A_RR32: p = aluReg(R, p, h, 2, 4, 0); continue;
      case H_ALU + 2 * 16 + A_RR64: p = aluReg(R, p, h, 2, 8, 0); continue;
      case H_ALU + 2 * 16 + A_RI32: p = aluReg(R, p, h, 2, 4, 1); continue;
      case H_ALU + 2 * 16 + A_RI64: p = aluReg(R, p, h, 2, 8, 1); continue;
      case H_ALU + 2 * 16 + A_RM32: p = aluReg(R, p, h, 2, 4, 2); continue;
      case H_ALU + 2 * 16 + A_RM64: p = aluReg(R, p, h, 2, 8, 2); continue;
      case H_ALU + 2 * 16 + A_MR32: p = aluMem(R, p, h, 2, 4, false); continue;
      case H_ALU + 2 * 16 + A_MR64: p = aluMem(R, p, h, 2, 8, false); continue;
      case H_ALU + 2 * 16 + A_MI32: p = aluMem(R, p, h, 2, 4, true); continue;
      case H_ALU + 2 * 16 + A_MI64: p = aluMem(R, p, h, 2, 8, true); continue;
      case H_ALU + 2 * 16 + A_RR8: p = aluReg(R, p, h, 2, 1, 0); continue;
      case H_ALU + 2 * 16 + A_RI8: p = aluReg(R, p, h, 2, 1, 1); continue;
      case H_ALU + 2 * 16 + A_RM8: p = aluReg(R, p, h, 2, 1, 2); continue;
      case H_ALU + 2 * 16 + A_MR8: p = aluMem(R, p, h, 2, 1, false); continue;
      case H_ALU + 2 * 16 + A_MI8: p = aluMem(R, p, h, 2, 1, true); continue;
      // sbb
      case H_ALU + 3 * 16 + A_RR32: p = aluReg(R, p, h, 3, 4, 0); continue;
      case H_ALU + 3 * 16 + A_RR64: p = aluReg(R, p, h, 3, 8, 0); continue;
      case H_ALU + 3 * 16 + A_RI32: p = aluReg(R, p, h, 3, 4, 1); continue;
      case H_ALU + 3 * 16 + A_RI64: p = aluReg(R, p, h, 3, 8, 1); continue;
      case H_ALU + 3 * 16 + A_RM32: p = aluReg(R, p, h, 3, 4, 2); continue;
      case H_ALU + 3 * 16 + A_RM64: p = aluReg(R, p, h, 3, 8, 2); continue;
      case H_ALU + 3 * 16 + A_MR32: p = aluMem(R, p, h, 3, 4, false); continue;
      case H_ALU + 3 * 16 + A_MR64: p = aluMem(R, p, h, 3, 8, false); continue;
      case H_ALU + 3 * 16 + A_MI32: p = aluMem(R, p, h, 3, 4, true); continue;
      case H_ALU + 3 * 16 + A_MI64: p = aluMem(R, p, h, 3, 8, true); continue;
      case H_ALU + 3 * 16 + A_RR8: p = aluReg(R, p, h, 3, 1, 0); continue;
      case H_ALU + 3 * 16 + A_RI8: p = aluReg(R, p, h, 3, 1, 1); continue;
      case H_ALU + 3 * 16 + A_RM8: p = aluReg(R, p, h, 3, 1, 2); continue;
      case H_ALU + 3 * 16 + A_MR8: p = aluMem(R, p, h, 3, 1, false); continue;
      case H_ALU + 3 * 16 + A_MI8: p = aluMem(R, p, h, 3, 1, true); continue;
      // and
      case H_ALU + 4 * 16 + A_RR32: p = aluReg(R, p, h, 4, 4, 0); continue;
      case H_ALU + 4 * 16 + A_RR64: p = aluReg(R, p, h, 4, 8, 0); continue;
      case H_ALU + 4 * 16 + A_RI32: p = aluReg(R, p, h, 4, 4, 1); continue;
      case H_ALU + 4 * 16 + A_RI64: p = aluReg(R, p, h, 4, 8, 1); continue;
      case H_ALU + 4 * 16 + A_RM32: p = aluReg(R, p, h, 4, 4, 2); continue;
      case H_ALU + 4 * 16 + A_RM64: p = aluReg(R, p, h, 4, 8, 2); continue;
      case H_ALU + 4 * 16 + A_MR32: p = aluMem(R, p, h, 4, 4, false); continue;
      case H_ALU + 4 * 16 + A_MR64: p = aluMem(R, p, h, 4, 8, false); continue;
      case H_ALU + 4 * 16 + A_MI32: p = aluMem(R, p, h, 4, 4, true); continue;
      case H_ALU + 4 * 16 + A_MI64: p = aluMem(R, p, h, 4, 8, true); continue;
      case H_ALU + 4 * 16 + A_RR8: p = aluReg(R, p, h, 4, 1, 0); continue;
      case H_ALU + 4 * 16 + A_RI8: p = aluReg(R, p, h, 4, 1, 1); continue;
      case H_ALU + 4 * 16 + A_RM8: p = aluReg(R, p, h, 4, 1, 2); continue;
      case H_ALU + 4 * 16 + A_MR8: p = aluMem(R, p, h, 4, 1, false); continue;
      case H_ALU + 4 * 16 + A_MI8: p = aluMem(R, p, h, 4, 1, true); continue;
      // sub
      case H_ALU + 5 * 16 + A_RR32: p = aluReg(R, p, h, 5, 4, 0); continue;
      case H_ALU + 5 * 16 + A_RR64: p = aluReg(R, p, h, 5, 8, 0); continue;
      case H_ALU + 5 * 16 + A_RI32: p = aluReg(R, p, h, 5, 4, 1); continue;
      case H_ALU + 5 * 16 + A_RI64: p = aluReg(R, p, h, 5, 8, 1); continue;
      case H_ALU + 5 * 16 + A_RM32: p = aluReg(R, p, h, 5, 4, 2); continue;
      case H_ALU + 5 * 16 + A_RM64: p = aluReg(R, p, h, 5, 8, 2); continue;
      case H_ALU + 5 * 16 + A_MR32: p = aluMem(R, p, h, 5, 4, false); continue;
      case H_ALU + 5 * 16 + A_MR64: p = aluMem(R, p, h, 5, 8, false); continue;
      case H_ALU + 5 * 16 + A_MI32: p = aluMem(R, p, h, 5, 4, true); continue;
      case H_ALU + 5 * 16 + A_MI64: p = aluMem(R, p, h, 5, 8, true); continue;
      case H_ALU + 5 * 16 + A_RR8: p = aluReg(R, p, h, 5, 1, 0); continue;
      case H_ALU + 5 * 16 + A_RI8: p = aluReg(R, p, h, 5, 1, 1); continue;
      case H_ALU + 5 * 16 + A_RM8: p = aluReg(R, p, h, 5, 1, 2); continue;
      case H_ALU + 5 * 16 + A_MR8: p = aluMem(R, p, h, 5, 1, false); continue;
      case H_ALU + 5 * 16 + A_MI8: p = aluMem(R, p, h, 5, 1, true); continue;
      // xor
      case H_ALU + 6 * 16 + A_RR32: p = aluReg(R, p, h, 6, 4, 0); continue;
      case H_ALU + 6 * 16 + A_RR64: p = aluReg(R, p, h, 6, 8, 0); continue;
      case H_ALU + 6 * 16 + A_RI32: p = aluReg(R, p, h, 6, 4, 1); continue;
      case H_ALU + 6 * 16 + A_RI64: p = aluReg(R, p, h, 6, 8, 1); continue;
      case H_ALU + 6 * 16 + A_RM32: p = aluReg(R, p, h, 6, 4, 2); continue;
      case H_ALU + 6 * 16 + A_RM64: p = aluReg(R, p, h, 6, 8, 2); continue;
      case H_ALU + 6 * 16 + A_MR32: p = aluMem(R, p, h, 6, 4, false); continue;
      case H_ALU + 6 * 16 + A_MR64: p = aluMem(R, p, h, 6, 8, false); continue;
      case H_ALU + 6 * 16 + A_MI32: p = aluMem(R, p, h, 6, 4, true); continue;
      case H_ALU + 6 * 16 + A_MI64: p = aluMem(R, p, h, 6, 8, true); continue;
      case H_ALU + 6 * 16 + A_RR8: p = aluReg(R, p, h, 6, 1, 0); continue;
      case H_ALU + 6 * 16 + A_RI8: p = aluReg(R, p, h, 6, 1, 1); continue;
      case H_ALU + 6 * 16 + A_RM8: p = aluReg(R, p, h, 6, 1, 2); continue;
      case H_ALU + 6 * 16 + A_MR8: p = aluMem(R, p, h, 6, 1, false); continue;
      case H_ALU + 6 * 16 + A_MI8: p = aluMem(R, p, h, 6, 1, true); continue;
      // cmp
      case H_ALU + 7 * 16 + A_RR32: p = aluReg(R, p, h, 7, 4, 0); continue;
      case H_ALU + 7 * 16 + A_RR64: p = aluReg(R, p, h, 7, 8, 0); continue;
      case H_ALU + 7 * 16 + A_RI32: p = aluReg(R, p, h, 7, 4, 1); continue;
      case H_ALU + 7 * 16 + A_RI64: p = aluReg(R, p, h, 7, 8, 1); continue;
      case H_ALU + 7 * 16 + A_RM32: p = aluReg(R, p, h, 7, 4, 2); continue;
      case H_ALU + 7 * 16 + A_RM64: p = aluReg(R, p, h, 7, 8, 2); continue;
      case H_ALU + 7 * 16 + A_MR32: p = aluMem(R, p, h, 7, 4, false); continue;
      case H_ALU + 7 * 16 + A_MR64: p = aluMem(R, p, h, 7, 8, false); continue;
      case H_ALU + 7 * 16 + A_MI32: p = aluMem(R, p, h, 7, 4, true); continue;
      case H_ALU + 7 * 16 + A_MI64: p = aluMem(R, p, h, 7, 8, true); continue;
      case H_ALU + 7 * 16 + A_RR8: p = aluReg(R, p, h, 7, 1, 0); continue;
      case H_ALU + 7 * 16 + A_RI8: p = aluReg(R, p, h, 7, 1, 1); continue;
      case H_ALU + 7 * 16 + A_RM8: p = aluReg(R, p, h, 7, 1, 2); continue;
      case H_ALU + 7 * 16 + A_MR8: p = aluMem(R, p, h, 7, 1, false); continue;
      case H_ALU + 7 * 16 + A_MI8: p = aluMem(R, p, h, 7, 1, true); continue;
      // test
      case H_ALU + 8 * 16 + A_RR32: p = aluReg(R, p, h, 8, 4, 0); continue;
      case H_ALU + 8 * 16 + A_RR64: p = aluReg(R, p, h, 8, 8, 0); continue;
      case H_ALU + 8 * 16 + A_RI32: p = aluReg(R, p, h, 8, 4, 1); continue;
      case H_ALU + 8 * 16 + A_RI64: p = aluReg(R, p, h, 8, 8, 1); continue;
      case H_ALU + 8 * 16 + A_RM32: p = aluReg(R, p, h, 8, 4, 2); continue;
      case H_ALU + 8 * 16 + A_RM64: p = aluReg(R, p, h, 8, 8, 2); continue;
      case H_ALU + 8 * 16 + A_MR32: p = aluMem(R, p, h, 8, 4, false); continue;
      case H_ALU + 8 * 16 + A_MR64: p = aluMem(R, p, h, 8, 8, false); continue;
      case H_ALU + 8 * 16 + A_MI32: p = aluMem(R, p, h, 8, 4, true); continue;
      case H_ALU + 8 * 16 + A_MI64: p = aluMem(R, p, h, 8, 8, true); continue;
      case H_ALU + 8 * 16 + A_RR8: p = aluReg(R, p, h, 8, 1, 0); continue;
      case H_ALU + 8 * 16 + A_RI8: p = aluReg(R, p, h, 8, 1, 1); continue;
      case H_ALU + 8 * 16 + A_RM8: p = aluReg(R, p, h, 8, 1, 2); continue;
      case H_ALU + 8 * 16 + A_MR8: p = aluMem(R, p, h, 8, 1, false); continue;
      case H_ALU + 8 * 16 + A_MI8: p = aluMem(R, p, h, 8, 1, true); continue;
      case H_INC32: p = incDec(R, p, h, 4, false, false); continue;
      case H_INC64: p = incDec(R, p, h, 8, false, false); continue;
      case H_DEC32: p = incDec(R, p, h, 4, true, false); continue;
      case H_DEC64: p = incDec(R, p, h, 8, true, false); continue;
      case H_INC32M: p = fAux(h) == 0 ? incDec(R, p, h, 4, false, true) : incDec(R, p, h, 4, true, true); continue;
      case H_INC64M: p = fAux(h) == 0 ? incDec(R, p, h, 8, false, true) : incDec(R, p, h, 8, true, true); continue;
      case H_NEG32: {
        const rr = R + fR(h);
        const d = <u64>load<u32>(rr);
        const r = (0 - d) & 0xffffffff;
        if ((h & DEAD) == 0) setF(R, F_SUB | (4 << 8), r, 0, d);
        store<u64>(rr, r);
        p += 16; continue;
      }
      case H_NEG64: {
        const rr = R + fR(h);
        const d = load<u64>(rr);
        const r = 0 - d;
        if ((h & DEAD) == 0) setF(R, F_SUB | (8 << 8), r, 0, d);
        store<u64>(rr, r);
        p += 16; continue;
      }
      case H_NOT32: { const rr = R + fR(h); const v: u32 = ~load<u32>(rr); store<u64>(rr, <u64>v); p += 16; continue; }
      case H_NOT64: { const rr = R + fR(h); store<u64>(rr, ~load<u64>(rr)); p += 16; continue; }
      case H_SHL32: shiftReg(R, p, h, F_SHL, 4, false); p += 16; continue;
      case H_SHL64: shiftReg(R, p, h, F_SHL, 8, false); p += 16; continue;
      case H_SHR32: shiftReg(R, p, h, F_SHR, 4, false); p += 16; continue;
      case H_SHR64: shiftReg(R, p, h, F_SHR, 8, false); p += 16; continue;
      case H_SAR32: shiftReg(R, p, h, F_SAR, 4, false); p += 16; continue;
      case H_SAR64: shiftReg(R, p, h, F_SAR, 8, false); p += 16; continue;
      case H_SHC32: {
        const k = fAux(h);
        if (k == F_SHL) shiftReg(R, p, h, F_SHL, 4, true);
        else if (k == F_SHR) shiftReg(R, p, h, F_SHR, 4, true);
        else shiftReg(R, p, h, F_SAR, 4, true);
        p += 16; continue;
      }
      case H_SHC64: {
        const k = fAux(h);
        if (k == F_SHL) shiftReg(R, p, h, F_SHL, 8, true);
        else if (k == F_SHR) shiftReg(R, p, h, F_SHR, 8, true);
        else shiftReg(R, p, h, F_SAR, 8, true);
        p += 16; continue;
      }
      case H_IMUL_RR32: p = imul(R, p, h, 4, 0); continue;
      case H_IMUL_RR64: p = imul(R, p, h, 8, 0); continue;
      case H_IMUL_RM32: p = imul(R, p, h, 4, 1); continue;
      case H_IMUL_RM64: p = imul(R, p, h, 8, 1); continue;
      case H_IMUL_RRI32: p = imul(R, p, h, 4, 2); continue;
      case H_IMUL_RRI64: p = imul(R, p, h, 8, 2); continue;
      case H_IMUL_RMI32: p = imul(R, p, h, 4, 3); continue;
      case H_IMUL_RMI64: p = imul(R, p, h, 8, 3); continue;
      // ---------------------------------------------------------------- conditions
      case H_SETCC_R: store<u8>(R + fR8(h), condR(R, <i32>fAux(h)) ? 1 : 0); p += 16; continue;
      case H_SETCC_M: {
        const v: u64 = condR(R, <i32>fAux(h)) ? 1 : 0;
        p = movStoreV(R, p, h, v);
        continue;
      }
      case H_CMOV_RR32: p = cmov(R, p, h, 4, false); continue;
      case H_CMOV_RR64: p = cmov(R, p, h, 8, false); continue;
      case H_CMOV_RM32: p = cmov(R, p, h, 4, true); continue;
      case H_CMOV_RM64: p = cmov(R, p, h, 8, true); continue;
      // ---------------------------------------------------------------- stack (64-bit mode)
      case H_PUSH_R: p = push64(R, p, load<u64>(R + fR(h))); continue;
      case H_PUSH_I: p = push64(R, p, imm32s(p)); continue;
      case H_PUSH_M: {
        const v = readOp(R, p, h, 8);
        const next = memNext;
        p = push64(R, p, v);
        if (next == STOPREC) p = STOPREC;
        continue;
      }
      case H_POP_R: {
        const sp = load<u64>(R + 32);
        const hp = tlbHit(R, sp, rbit, 8);
        let v: u64;
        if (hp != 0) { v = load<u64>(hp); p += 16; }
        else { v = slowRd(p, sp, 8, SSEG); p = stopNext(p, 16); }
        store<u64>(R + 32, sp + 8);
        store<u64>(R + fR(h), v);
        continue;
      }
      case H_LEAVE: {
        const bp = load<u64>(R + 40);
        const hp = tlbHit(R, bp, rbit, 8);
        let v: u64;
        if (hp != 0) { v = load<u64>(hp); p += 16; }
        else { v = slowRd(p, bp, 8, SSEG); p = stopNext(p, 16); }
        store<u64>(R + 32, bp + 8);
        store<u64>(R + 40, v);
        continue;
      }
      // ---------------------------------------------------------------- interpreter fallbacks
      case H_FB: {
        const ip = (bip + <u64><i64>load<i32>(p, 8)) & ripMask;
        const idx = <u64>load<i32>(p, 12);
        rip = ip; icount = icBlk + idx;
        step();
        if (exitRequested || codeDirty || rip != ((ip + ((h >> 8) & 0xff)) & ripMask)) { icount++; return R_CONT; }
        icBlk = icount - idx; // a REP instruction counted its extra iterations
        if (icBlk + <u64>load<u8>(blk, B_NINS) > endIc) { icount++; return R_CONT; }
        p += 16; continue;
      }
      case H_FBEND: {
        rip = (bip + <u64><i64>load<i32>(p, 8)) & ripMask;
        icount = icBlk + <u64>load<i32>(p, 12);
        step();
        icount++;
        return R_CONT;
      }
      case H_STOP: {
        rip = stopRip; icount = stopIc;
        return R_CONT;
      }
      // ---------------------------------------------------------------- block ends
      case H_FALL:
        t = bip + <u64><i64>load<i32>(p, 8); slot = p + 16;
        break;
      case H_JMP: case H_JMP32:
        t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16;
        break;
      case H_JCC + 0: if (condR(R, 0)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 1: if (condR(R, 1)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 2: if (condR(R, 2)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 3: if (condR(R, 3)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 4: if (condR(R, 4)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 5: if (condR(R, 5)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 6: if (condR(R, 6)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 7: if (condR(R, 7)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 8: if (condR(R, 8)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 9: if (condR(R, 9)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 10: if (condR(R, 10)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 11: if (condR(R, 11)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 12: if (condR(R, 12)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 13: if (condR(R, 13)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 14: if (condR(R, 14)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC + 15: if (condR(R, 15)) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; } else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; } break;
      case H_JCC32:
        if (condR(R, <i32>fAux(h))) { t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16; }
        else { t = bip + <u64><i64>load<i32>(p, 8); slot = p + 20; }
        break;
      case H_CALL: {
        t = bip + <u64><i64>load<i32>(p, 12); slot = p + 16;
        if (push64(R, p, bip + <u64><i64>load<i32>(p, 8)) == STOPREC) tstop = true;
        break;
      }
      case H_CALL_R: case H_CALL_M: {
        let ret: u64;
        slot = 0;
        if (<i32>(h & 0xff) == H_CALL_R) { t = load<u64>(R + fB(h)); ret = bip + <u64><i64>load<i32>(p, 8); }
        else {
          ret = bip + <u64><i64>load<i32>(p, 12);
          t = readOp(R, p, h, 8);
          if (memNext == STOPREC) tstop = true;
        }
        if (!canonical(t)) slowGP(p);
        if (push64(R, p, ret) == STOPREC) tstop = true;
        break;
      }
      case H_RET: {
        const sp = load<u64>(R + 32);
        const hp = tlbHit(R, sp, rbit, 8);
        if (hp != 0) t = load<u64>(hp);
        else {
          t = slowRd(p, sp, 8, SSEG);
          if (exitRequested || codeDirty) tstop = true;
        }
        if (!canonical(t)) slowGP(p);
        store<u64>(R + 32, sp + 8);
        slot = 0;
        break;
      }
      case H_JMP_R: case H_JMP_M: {
        if (<i32>(h & 0xff) == H_JMP_R) t = load<u64>(R + fB(h));
        else {
          t = readOp(R, p, h, 8);
          if (memNext == STOPREC) tstop = true;
        }
        if (!canonical(t)) slowGP(p);
        slot = 0;
        break;
      }
      default: {
        // not a record the engine knows (cannot happen): let the interpreter run the instruction
        syncPos(p);
        step();
        icount++;
        return R_CONT;
      }
    }
    // ---- a block ended: go to the one at t ----
    icBlk += <u64>load<u32>(p, 24);
    t &= ripMask;
    if (tstop) { rip = t; icount = icBlk; return R_CONT; }
    let nb: usize = slot != 0 ? <usize>load<u32>(slot) : 0;
    if (nb == 0 || load<u8>(nb, B_VALID) == 0) {
      rip = t; startRip = t; icount = icBlk;
      const gen = cacheGen;
      nb = findBlock(t);
      codeDirty = false;
      if (slot != 0 && gen == cacheGen && canChain && ((t ^ bip) >> 12) == 0) store<u32>(slot, <u32>nb);
    }
    if (icBlk + <u64>load<u8>(nb, B_NINS) > endIc) { rip = t; icount = icBlk; return R_STEP; }
    blk = nb; p = nb + HDR; bip = t;
    store<u64>(R + 136, t);
  }
}

// SETcc to memory: a byte store.
@inline function movStoreV(R: usize, p: usize, h: u64, v: u64): usize {
  const a = eaOf(R, h, p);
  const hp = tlbHit(R, a, wbit, 1);
  if (hp != 0) { store<u8>(hp, <u8>v); return p + 16; }
  slowWr(p, a, 1, v, fSeg(h));
  return stopNext(p, 16);
}
