// Pre-decoder of the block engine: turns the x86 code at a host address into a block of compact
// records (layout in codecache.ts) that exec.ts runs. Common integer forms of 64-bit mode and of
// flat 32-bit protected mode get specialised records; everything else becomes H_FB (the
// interpreter runs that one instruction and the block continues) when it cannot change the
// execution context, or H_FBEND (the block ends with it) otherwise. Blocks never cross a page.
//
// A backward pass over the block marks instructions whose flag results are overwritten before
// anything can observe them (FL_DEAD). Instructions that touch memory can fault or stop the
// block, and fallbacks read the flags, so both keep the flags before them live.
import { mode64, REG_ZERO, REG_BRIP, ES, CS, SS, DS, FS, GS } from './state';
import {
  HDR, B_KEY, B_VALID, B_NINS, B_LEN, FL_SEGBASE, FL_A32, FL_DEAD, recSize, blockSpace, commitBlock, aluId,
  A_RR32, A_RI32, A_RM32, A_MR32, A_MI32, A_RR8, A_RI8, A_RM8, A_MR8, A_MI8,
  H_FB, H_NOP, H_MOV_RR32, H_MOV_RI32, H_MOV_RI64S, H_MOV_RM32, H_MOV_MR32,
  H_MOV_MI32, H_MOV_MI64, H_LEA32, H_LEA64, H_INC32, H_DEC32, H_NEG32, H_NOT32,
  H_SHL32, H_SHR32, H_SAR32, H_SHC32,
  H_MOVZX_R8, H_MOVZX_R16, H_MOVZX_M8, H_MOVZX_M16, H_MOVSX_R8, H_MOVSX_R16, H_MOVSX_M8, H_MOVSX_M16,
  H_MOVSXD_R, H_MOVSXD_M, H_IMUL_RR32, H_IMUL_RM32, H_IMUL_RRI32, H_IMUL_RMI32, H_SETCC_R, H_SETCC_M,
  H_CMOV_RR32, H_CMOV_RM32, H_XCHG_RR32, H_CDQ32, H_CDQE32, H_PUSH_R, H_PUSH_I, H_POP_R,
  H_MOV8_RR, H_MOV8_RI, H_MOV8_RM, H_MOV8_MR, H_MOV8_MI, H_INC32M, H_LEAVE, H_PUSH_M, H_MOV_RI64, H_FALL,
  H_FBEND, H_JMP, H_JCC, H_CALL, H_RET, H_JMP_R, H_JMP_M, H_CALL_R, H_CALL_M, H_JMP32, H_JCC32,
} from './codecache';
import { F_ADD, F_SUB, F_LOGIC, F_ADC, F_SBB, F_SHL, F_SHR, F_SAR } from './flags';

export const MAX_INS = 48;            // instructions per block
const MAX_BLOCK_BYTES: usize = HDR + (<usize>MAX_INS + 2) * 32;

// liveness classes of a record
const I_FR: u8 = 1;   // reads the arithmetic flags
const I_FW: u8 = 2;   // writes all six of them
const I_MEM: u8 = 4;  // barrier: may fault, stop the block, or run the interpreter
const I_FP: u8 = 8;   // reads flags only to carry some of them into its own flag result

const INFO: usize = memory.data(64);
const RECP: usize = memory.data(64 * 4);

// ---- decoder state for the instruction being decoded ----
let pg: usize = 0;        // host page
let q: u32 = 0;           // offset of the next byte in the page
let fit: bool = true;     // false once a read went past the page
let m64: bool = true;
let rex: u32 = 0;
let p66: bool = false;
let p67: bool = false;
let rep: u32 = 0;
let lock: bool = false;
let segOv: i32 = -1;
// ModRM
let mod: u32 = 0;
let regF: u32 = 0;        // ModRM.reg (+REX.R)
let rmF: u32 = 0;         // ModRM.rm (+REX.B), register form
let mBase: u32 = 0;
let mIndex: u32 = 0;
let mScale: u32 = 0;
let mDisp: i64 = 0;
let mSeg: i32 = DS;
let mRip: bool = false;   // RIP-relative: mDisp is relative to the end of the instruction
let mOk: bool = true;     // addressing form supported by the records

@inline function byte(): u32 {
  if (q >= 4096) { fit = false; return 0; }
  const v = <u32>load<u8>(pg + <usize>q);
  q++;
  return v;
}
function imm8s(): i32 { return <i32><i8>byte(); }
function imm16(): u32 { const a = byte(); return a | (byte() << 8); }
function imm32(): i32 { const a = imm16(); return <i32>(a | (imm16() << 16)); }
function imm64(): u64 { const lo = <u64><u32>imm32(); return lo | (<u64><u32>imm32() << 32); }

// Byte offset in the register file of an 8-bit register (AH..BH without REX).
function r8(r: u32): u32 { return rex == 0 && r >= 4 && r < 8 ? ((r - 4) << 3) + 1 : r << 3; }

// Parses ModRM (+SIB, displacement). Register form: rmF. Memory form: mBase/mIndex/... and mOk.
function modrm(): void {
  const m = byte();
  mod = m >> 6;
  regF = ((m >> 3) & 7) | ((rex & 4) << 1);
  const rm = m & 7;
  rmF = rm | ((rex & 1) << 3);
  if (mod == 3) return;
  mOk = true; mRip = false; mIndex = REG_ZERO; mScale = 0; mDisp = 0; mSeg = DS;
  const a16 = m64 ? false : p67;
  if (a16 || (m64 && p67)) {
    // 16-bit addressing, or 32-bit addressing in 64-bit mode: interpreter only. Skip the bytes.
    mOk = false;
    if (a16) {
      if (mod == 0 && rm == 6) imm16(); else if (mod == 1) byte(); else if (mod == 2) imm16();
      return;
    }
  }
  if (rm == 4) {
    const sib = byte();
    mScale = sib >> 6;
    const idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
    if (idx != 4) mIndex = idx;
    const base = sib & 7;
    if (base == 5 && mod == 0) { mBase = REG_ZERO; mDisp = <i64>imm32(); }
    else {
      mBase = base | ((rex & 1) << 3);
      if (base == 4 || base == 5) mSeg = SS;
    }
  } else if (rm == 5 && mod == 0) {
    mDisp = <i64>imm32();
    if (m64) { mBase = REG_BRIP; mRip = true; } else mBase = REG_ZERO;
  } else {
    mBase = rmF;
    if (rm == 5) mSeg = SS;
  }
  if (mod == 1) mDisp += <i64>imm8s();
  else if (mod == 2) mDisp += <i64>imm32();
  if (segOv >= 0) mSeg = segOv;
}

// ---- record emission ----
let rp: usize = 0;        // where the current record goes
let insOff: u32 = 0;      // offset of the instruction from the block start
let insStart: u32 = 0;    // page offset of the instruction
let insIdx: u32 = 0;      // index of the instruction in the block
let info: u8 = 0;

function put(op: u32, r: u32, b: u32, x: u32, fl: u32, seg: u32, aux: u32, disp: i32, imm: i32): void {
  const len = q - insStart;
  store<u64>(rp, <u64>op | (<u64>len << 8) | (<u64>r << 16) | (<u64>b << 24) | (<u64>x << 32) |
    (<u64>fl << 40) | (<u64>seg << 48) | (<u64>aux << 56));
  store<i32>(rp, disp, 8);
  store<i32>(rp, imm, 12);
}

// Record with a memory operand (the ModRM just parsed). False when the form is not supported.
function putM(op: u32, r: u32, aux: u32, imm: i32): bool {
  if (!mOk) return false;
  let disp = mDisp;
  if (mRip) disp += <i64>(q - insStart + insOff); // RIP-relative: from the block start (REG_BRIP)
  if (disp != <i64><i32>disp) return false;
  let fl: u32 = mScale;
  if (!m64) fl |= FL_A32 | FL_SEGBASE;
  else if (mSeg == FS || mSeg == GS) fl |= FL_SEGBASE;
  put(op, r, mBase, mIndex, fl, <u32>mSeg, aux, <i32>disp, imm);
  return true;
}

// Operand size of the instruction (2, 4, 8).
@inline function opSize(): u32 { return (rex & 8) != 0 ? 8 : (p66 ? 2 : 4); }

// Length of an immediate of operand size z (Iz).
@inline function izLen(): u32 { return p66 && (rex & 8) == 0 ? 2 : 4; }

function skip(n: u32): void { for (let i: u32 = 0; i < n; i++) byte(); }

// ALU op encodings of the records: 0 add 1 or 2 adc 3 sbb 4 and 5 sub 6 xor 7 cmp 8 test;
// aux = op | lazy-flag kind << 4.
function aluAux(op: u32): u32 {
  let k: u32;
  switch (op) {
    case 0: k = F_ADD; break;
    case 2: k = F_ADC; break;
    case 3: k = F_SBB; break;
    case 5: case 7: k = F_SUB; break;
    default: k = F_LOGIC; break;
  }
  return op | (k << 4);
}
@inline function aluInfo(op: u32): u8 { return op == 2 || op == 3 ? I_FW | I_FR : I_FW; }

// Result of decodeOne.
const D_NORMAL = 0;   // record emitted, continue the block
const D_END = 1;      // terminator emitted
const D_NOFIT = 2;    // the instruction does not fit in the page: nothing emitted

// Fallback records: the interpreter executes the instruction (len must be right for H_FB).
function putFB(): i32 { put(H_FB, 0, 0, 0, 0, 0, 0, <i32>insOff, <i32>insIdx); info = I_MEM | I_FR; return D_NORMAL; }
function putFBEND(): i32 { put(H_FBEND, 0, 0, 0, 0, 0, 0, <i32>insOff, <i32>insIdx); info = I_MEM | I_FR; return D_END; }

// Offset (from the block start) of a relative branch target; false if out of range.
let relTarget: i32 = 0;
function rel(d: i64): bool {
  const t = <i64>(q - insStart + insOff) + d;
  if (t != <i64><i32>t) return false;
  relTarget = <i32>t;
  return true;
}
function putJump(op: u32, aux: u32, d: i64): i32 {
  if (!fit) return D_NOFIT;
  if (!rel(d)) return putFBEND();
  put(m64 ? (op == H_JMP ? op : op + aux) : (op == H_JMP ? H_JMP32 : H_JCC32), 0, 0, 0, m64 ? 0 : FL_A32, 0, aux, <i32>(q - insStart + insOff), relTarget);
  info = op == H_JCC ? I_FR : 0;
  return D_END;
}

// Decodes the instruction at page offset `at` into a record at `rp`.
function decodeOne(at: u32): i32 {
  q = at; fit = true; rex = 0; p66 = false; p67 = false; rep = 0; lock = false; segOv = -1;
  insStart = at; info = 0;
  let b: u32 = 0;
  while (true) {
    b = byte();
    if (!fit) return D_NOFIT;
    if (b == 0x66) { p66 = true; rex = 0; continue; }
    if (b == 0x67) { p67 = true; rex = 0; continue; }
    if (b == 0xf2 || b == 0xf3) { rep = b; rex = 0; continue; }
    if (b == 0xf0) { lock = true; rex = 0; continue; }
    if (b == 0x26) { segOv = ES; rex = 0; continue; }
    if (b == 0x2e) { segOv = CS; rex = 0; continue; }
    if (b == 0x36) { segOv = SS; rex = 0; continue; }
    if (b == 0x3e) { segOv = DS; rex = 0; continue; }
    if (b == 0x64) { segOv = FS; rex = 0; continue; }
    if (b == 0x65) { segOv = GS; rex = 0; continue; }
    if (m64 && (b & 0xf0) == 0x40) { rex = b; continue; }
    break;
  }
  if (q - at > 15) return putFBEND();
  const r = decodeOp(b);
  if (r == D_NOFIT) return r;
  if (!fit) return D_NOFIT;
  if (q - at > 15) { q = at + 1; return putFBEND(); } // #GP from the interpreter
  return r;
}

// Everything special-cased below assumes no LOCK and (except where noted) no REP prefix.
function decodeOp(b: u32): i32 {
  const os = opSize();
  const wide = os == 8;
  const sz32 = os != 2;       // 4 or 8: the sizes with records
  const plain = !lock && rep == 0;
  if (b < 0x40 && (b & 7) < 6) {
    const op = b >> 3;
    const form = b & 7;
    let i: i32 = 0;
    if (form < 4) modrm();
    else if (form == 4) i = <i32>byte();
    else i = izLen() == 2 ? <i32>imm16() : imm32();
    if (!plain || ((form & 1) != 0 && !sz32)) return putFB();
    const aux = aluAux(op);
    info = aluInfo(op);
    const o32: u32 = wide ? 1 : 0;
    switch (form) {
      case 0: // Eb, Gb
        if (mod == 3) { put(aluId(op, A_RR8), r8(rmF), r8(regF), 0, 0, 0, aux, 0, 0); return D_NORMAL; }
        if (!putM(aluId(op, A_MR8), r8(regF), aux, 0)) return putFB();
        info |= I_MEM; return D_NORMAL;
      case 1: // Ev, Gv
        if (mod == 3) { put(aluId(op, A_RR32 + o32), rmF, regF, 0, 0, 0, aux, 0, 0); return D_NORMAL; }
        if (!putM(aluId(op, A_MR32 + o32), regF, aux, 0)) return putFB();
        info |= I_MEM; return D_NORMAL;
      case 2: // Gb, Eb
        if (mod == 3) { put(aluId(op, A_RR8), r8(regF), r8(rmF), 0, 0, 0, aux, 0, 0); return D_NORMAL; }
        if (!putM(aluId(op, A_RM8), r8(regF), aux, 0)) return putFB();
        info |= I_MEM; return D_NORMAL;
      case 3: // Gv, Ev
        if (mod == 3) { put(aluId(op, A_RR32 + o32), regF, rmF, 0, 0, 0, aux, 0, 0); return D_NORMAL; }
        if (!putM(aluId(op, A_RM32 + o32), regF, aux, 0)) return putFB();
        info |= I_MEM; return D_NORMAL;
      case 4: // AL, Ib
        put(aluId(op, A_RI8), 0, 0, 0, 0, 0, aux, 0, i); return D_NORMAL;
      default: // eAX, Iz
        put(aluId(op, A_RI32 + o32), 0, 0, 0, 0, 0, aux, 0, i); return D_NORMAL;
    }
  }
  switch (b) {
    case 0x0f: return decode0F();
    case 0x06: case 0x0e: case 0x16: case 0x1e: case 0x07: case 0x17: case 0x1f:
      return putFBEND();
    case 0x27: case 0x2f: case 0x37: case 0x3f:
      return m64 ? putFBEND() : putFB();
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
      // INC/DEC r32 (32-bit mode only; REX in 64-bit mode)
      if (!plain || !sz32) return putFB();
      put(b < 0x48 ? H_INC32 : H_DEC32, b & 7, 0, 0, 0, 0, 0, 0, 0);
      info = I_FW | I_FP;
      return D_NORMAL;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      if (!m64 || !plain || p66) return putFB();
      put(H_PUSH_R, (b & 7) | ((rex & 1) << 3), 0, 0, 0, SS, 0, 0, 0);
      info = I_MEM;
      return D_NORMAL;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
      if (!m64 || !plain || p66) return putFB();
      put(H_POP_R, (b & 7) | ((rex & 1) << 3), 0, 0, 0, SS, 0, 0, 0);
      info = I_MEM;
      return D_NORMAL;
    case 0x63:
      if (!m64) return putFBEND();
      modrm();
      if (!plain || p66) return putFB();
      if (wide) {
        if (mod == 3) { put(H_MOVSXD_R, regF, rmF, 0, 0, 0, 0, 0, 0); return D_NORMAL; }
        if (!putM(H_MOVSXD_M, regF, 0, 0)) return putFB();
      } else {
        if (mod == 3) { put(H_MOV_RR32, regF, rmF, 0, 0, 0, 0, 0, 0); return D_NORMAL; }
        if (!putM(H_MOV_RM32, regF, 0, 0)) return putFB();
      }
      info = I_MEM;
      return D_NORMAL;
    case 0x68: case 0x6a: {
      const i = b == 0x68 ? (p66 ? <i32>imm16() : imm32()) : imm8s();
      if (!m64 || !plain || p66) return putFB();
      put(H_PUSH_I, 0, 0, 0, 0, SS, 0, 0, i);
      info = I_MEM;
      return D_NORMAL;
    }
    case 0x69: case 0x6b: {
      modrm();
      const i = b == 0x6b ? imm8s() : (izLen() == 2 ? <i32>imm16() : imm32());
      if (!plain || !sz32) return putFB();
      info = I_FW;
      const o32: u32 = wide ? 1 : 0;
      if (mod == 3) { put(H_IMUL_RRI32 + o32, regF, rmF, 0, 0, 0, 0, 0, i); return D_NORMAL; }
      if (!putM(H_IMUL_RMI32 + o32, regF, 0, i)) return putFB();
      info |= I_MEM;
      return D_NORMAL;
    }
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const d = <i64>imm8s();
      if (lock || p66) return putFBEND();
      return putJump(H_JCC, b & 15, d);
    }
    case 0x80: case 0x81: case 0x82: case 0x83: {
      modrm();
      const op = regF & 7;
      let i: i32;
      if (b == 0x81) i = izLen() == 2 ? <i32>imm16() : imm32();
      else if (b == 0x83) i = imm8s();
      else i = <i32>byte();
      if (b == 0x82) return m64 ? putFBEND() : putFB();
      if (!plain) return putFB();
      const aux = aluAux(op);
      info = aluInfo(op);
      if (b == 0x80) {
        if (mod == 3) { put(aluId(op, A_RI8), r8(rmF), 0, 0, 0, 0, aux, 0, i); return D_NORMAL; }
        if (!putM(aluId(op, A_MI8), 0, aux, i)) return putFB();
        info |= I_MEM;
        return D_NORMAL;
      }
      if (!sz32) return putFB();
      const o32: u32 = wide ? 1 : 0;
      if (mod == 3) { put(aluId(op, A_RI32 + o32), rmF, 0, 0, 0, 0, aux, 0, i); return D_NORMAL; }
      if (!putM(aluId(op, A_MI32 + o32), 0, aux, i)) return putFB();
      info |= I_MEM;
      return D_NORMAL;
    }
    case 0x84: case 0x85: {
      modrm();
      if (!plain || (b == 0x85 && !sz32)) return putFB();
      const aux = aluAux(8);
      info = I_FW;
      if (b == 0x84) {
        if (mod == 3) { put(aluId(8, A_RR8), r8(rmF), r8(regF), 0, 0, 0, aux, 0, 0); return D_NORMAL; }
        if (!putM(aluId(8, A_MR8), r8(regF), aux, 0)) return putFB();
      } else {
        const o32: u32 = wide ? 1 : 0;
        if (mod == 3) { put(aluId(8, A_RR32 + o32), rmF, regF, 0, 0, 0, aux, 0, 0); return D_NORMAL; }
        if (!putM(aluId(8, A_MR32 + o32), regF, aux, 0)) return putFB();
      }
      info |= I_MEM;
      return D_NORMAL;
    }
    case 0x86: modrm(); return putFB();
    case 0x87:
      modrm();
      if (!plain || !sz32 || mod != 3) return putFB();
      put(H_XCHG_RR32 + (wide ? 1 : 0), regF, rmF, 0, 0, 0, 0, 0, 0);
      return D_NORMAL;
    case 0x88: case 0x8a:
      modrm();
      if (!plain) return putFB();
      if (mod == 3) {
        if (b == 0x88) put(H_MOV8_RR, r8(rmF), r8(regF), 0, 0, 0, 0, 0, 0);
        else put(H_MOV8_RR, r8(regF), r8(rmF), 0, 0, 0, 0, 0, 0);
        return D_NORMAL;
      }
      if (!putM(b == 0x88 ? H_MOV8_MR : H_MOV8_RM, r8(regF), 0, 0)) return putFB();
      info = I_MEM;
      return D_NORMAL;
    case 0x89: case 0x8b: {
      modrm();
      if (!plain || !sz32) return putFB();
      const o32: u32 = wide ? 1 : 0;
      if (mod == 3) {
        if (b == 0x89) put(H_MOV_RR32 + o32, rmF, regF, 0, 0, 0, 0, 0, 0);
        else put(H_MOV_RR32 + o32, regF, rmF, 0, 0, 0, 0, 0, 0);
        return D_NORMAL;
      }
      if (!putM((b == 0x89 ? H_MOV_MR32 : H_MOV_RM32) + o32, regF, 0, 0)) return putFB();
      info = I_MEM;
      return D_NORMAL;
    }
    case 0x8c: modrm(); return putFB();
    case 0x8d: {
      modrm();
      if (!plain || !sz32 || mod == 3 || !mOk) return putFB();
      if (!putM(wide ? H_LEA64 : H_LEA32, regF, 0, 0)) return putFB();
      // LEA adds no segment base; in 32-bit mode the address wraps at 4 GiB.
      store<u8>(rp, <u8>(mScale | (m64 ? 0 : FL_A32)), 5);
      return D_NORMAL;
    }
    case 0x8e: return putFBEND();
    case 0x8f:
      modrm();
      return (regF & 7) == 0 ? putFB() : putFBEND();
    case 0x90:
      if (lock) return putFB();
      if ((rex & 1) != 0) {
        if (!sz32 || rep != 0) return putFB();
        put(H_XCHG_RR32 + (wide ? 1 : 0), 0, 8, 0, 0, 0, 0, 0, 0);
        return D_NORMAL;
      }
      put(H_NOP, 0, 0, 0, 0, 0, 0, 0, 0);
      return D_NORMAL;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      if (!plain || !sz32) return putFB();
      put(H_XCHG_RR32 + (wide ? 1 : 0), 0, (b & 7) | ((rex & 1) << 3), 0, 0, 0, 0, 0, 0);
      return D_NORMAL;
    case 0x98: case 0x99:
      if (!plain || !sz32) return putFB();
      put((b == 0x98 ? H_CDQE32 : H_CDQ32) + (wide ? 1 : 0), 0, 0, 0, 0, 0, 0, 0, 0);
      return D_NORMAL;
    case 0x9b: case 0x9c: case 0x9e: case 0x9f: case 0xf5: case 0xf8: case 0xf9: case 0xfc: case 0xfd:
      return putFB();
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
      skip(m64 ? (p67 ? 4 : 8) : (p67 ? 2 : 4));
      return putFB();
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      return putFB();
    case 0xa8: {
      const i = <i32>byte();
      if (!plain) return putFB();
      put(aluId(8, A_RI8), 0, 0, 0, 0, 0, aluAux(8), 0, i);
      info = I_FW;
      return D_NORMAL;
    }
    case 0xa9: {
      const i = izLen() == 2 ? <i32>imm16() : imm32();
      if (!plain || !sz32) return putFB();
      put(aluId(8, A_RI32 + (wide ? 1 : 0)), 0, 0, 0, 0, 0, aluAux(8), 0, i);
      info = I_FW;
      return D_NORMAL;
    }
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7: {
      const i = <i32>byte();
      if (!plain) return putFB();
      put(H_MOV8_RI, r8((b & 7) | ((rex & 1) << 3)), 0, 0, 0, 0, 0, 0, i);
      return D_NORMAL;
    }
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: {
      const r = (b & 7) | ((rex & 1) << 3);
      if (wide) {
        const v = imm64();
        if (!plain) return putFB();
        put(H_MOV_RI64, r, 0, 0, 0, 0, 0, 0, 0);
        store<u64>(rp, v, 16);
        return D_NORMAL;
      }
      const i = p66 ? <i32>imm16() : imm32();
      if (!plain || p66) return putFB();
      put(H_MOV_RI32, r, 0, 0, 0, 0, 0, 0, i);
      return D_NORMAL;
    }
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      modrm();
      let count: u32 = 1;
      if (b < 0xc2) count = byte();
      const op = regF & 7;
      if (!plain || b == 0xc0 || b == 0xd0 || b == 0xd2 || !sz32 || mod != 3 || op < 4) return putFB();
      const kind = op == 5 ? F_SHR : (op == 7 ? F_SAR : F_SHL);
      const o32: u32 = wide ? 1 : 0;
      if (b == 0xd3) {
        put(H_SHC32 + o32, rmF, 0, 0, 0, 0, kind, 0, 0);
        info = I_FP | I_FW;
        return D_NORMAL;
      }
      count &= wide ? 63 : 31;
      if (count == 0) return putFB();
      put((op == 5 ? H_SHR32 : (op == 7 ? H_SAR32 : H_SHL32)) + o32, rmF, 0, 0, 0, 0, kind, 0, <i32>count);
      info = I_FW;
      return D_NORMAL;
    }
    case 0xc3:
      if (lock || p66 || !m64) return putFBEND();
      put(H_RET, 0, 0, 0, 0, SS, 0, 0, 0);
      info = I_MEM;
      return D_END;
    case 0xc6: case 0xc7: {
      modrm();
      const i = b == 0xc6 ? <i32>byte() : (izLen() == 2 ? <i32>imm16() : imm32());
      if ((regF & 7) != 0) return putFBEND();
      if (!plain || (b == 0xc7 && !sz32)) return putFB();
      if (b == 0xc6) {
        if (mod == 3) { put(H_MOV8_RI, r8(rmF), 0, 0, 0, 0, 0, 0, i); return D_NORMAL; }
        if (!putM(H_MOV8_MI, 0, 0, i)) return putFB();
      } else {
        if (mod == 3) { put(wide ? H_MOV_RI64S : H_MOV_RI32, rmF, 0, 0, 0, 0, 0, 0, i); return D_NORMAL; }
        if (!putM(wide ? H_MOV_MI64 : H_MOV_MI32, 0, 0, i)) return putFB();
      }
      info = I_MEM;
      return D_NORMAL;
    }
    case 0xc9:
      if (!m64 || !plain || p66) return putFB();
      put(H_LEAVE, 0, 0, 0, 0, SS, 0, 0, 0);
      info = I_MEM;
      return D_NORMAL;
    case 0xe8: {
      const d = p66 && !m64 ? <i64><i16>imm16() : <i64>imm32();
      if (lock || p66 || !m64) return putFBEND();
      if (!fit) return D_NOFIT;
      if (!rel(d)) return putFBEND();
      put(H_CALL, 0, 0, 0, 0, SS, 0, <i32>(q - insStart + insOff), relTarget);
      info = I_MEM;
      return D_END;
    }
    case 0xe9: case 0xeb: {
      const d = b == 0xeb ? <i64>imm8s() : (p66 && !m64 ? <i64><i16>imm16() : <i64>imm32());
      if (lock || p66) return putFBEND();
      return putJump(H_JMP, 0, d);
    }
    case 0xf6: case 0xf7: {
      modrm();
      const op = regF & 7;
      if (op < 2) {
        const i = b == 0xf6 ? <i32>byte() : (izLen() == 2 ? <i32>imm16() : imm32());
        if (!plain || (b == 0xf7 && !sz32)) return putFB();
        const aux = aluAux(8);
        info = I_FW;
        if (b == 0xf6) {
          if (mod == 3) { put(aluId(8, A_RI8), r8(rmF), 0, 0, 0, 0, aux, 0, i); return D_NORMAL; }
          if (!putM(aluId(8, A_MI8), 0, aux, i)) return putFB();
        } else {
          const o32: u32 = wide ? 1 : 0;
          if (mod == 3) { put(aluId(8, A_RI32 + o32), rmF, 0, 0, 0, 0, aux, 0, i); return D_NORMAL; }
          if (!putM(aluId(8, A_MI32 + o32), 0, aux, i)) return putFB();
        }
        info |= I_MEM;
        return D_NORMAL;
      }
      if (!plain || b == 0xf6 || !sz32 || mod != 3 || op > 3) return putFB();
      const o32: u32 = wide ? 1 : 0;
      if (op == 2) { put(H_NOT32 + o32, rmF, 0, 0, 0, 0, 0, 0, 0); return D_NORMAL; }
      put(H_NEG32 + o32, rmF, 0, 0, 0, 0, 0, 0, 0);
      info = I_FW;
      return D_NORMAL;
    }
    case 0xfe: modrm(); return (regF & 7) < 2 ? putFB() : putFBEND();
    case 0xff: {
      modrm();
      const op = regF & 7;
      if (op < 2) {
        if (lock || rep != 0 || !sz32) return putFB();
        const o32: u32 = wide ? 1 : 0;
        info = I_FW | I_FP;
        if (mod == 3) { put((op == 0 ? H_INC32 : H_DEC32) + o32, rmF, 0, 0, 0, 0, 0, 0, 0); return D_NORMAL; }
        if (!putM(H_INC32M + o32, 0, op, 0)) return putFB();
        info |= I_MEM;
        return D_NORMAL;
      }
      if (op == 6) {
        if (!m64 || !plain || p66 || mod == 3 || !putM(H_PUSH_M, 0, 0, 0)) return putFB();
        info = I_MEM;
        return D_NORMAL;
      }
      if (op == 2 || op == 4) {
        if (!m64 || lock || p66) return putFBEND();
        info = I_MEM;
        const ret = <i32>(q - insStart + insOff);
        if (mod == 3) { put(op == 2 ? H_CALL_R : H_JMP_R, 0, rmF, 0, 0, SS, 0, ret, 0); return D_END; }
        if (!putM(op == 2 ? H_CALL_M : H_JMP_M, 0, 0, ret)) return putFBEND();
        return D_END;
      }
      return putFBEND();
    }
    default: return putFBEND();
  }
}

// SSE and other 0F opcodes the interpreter runs without leaving the block (they cannot change
// the mode, paging, IF or control flow): ModRM, plus an imm8 where noted.
function sse0F(b: u32): bool {
  return (b >= 0x10 && b <= 0x17) || (b >= 0x28 && b <= 0x2f) || (b >= 0x50 && b <= 0x7f) ||
    (b >= 0xc2 && b <= 0xc6) || b >= 0xd0;
}

function decode0F(): i32 {
  const b = byte();
  const os = opSize();
  const wide = os == 8;
  const sz32 = os != 2;
  const plain = !lock && rep == 0;
  const o32: u32 = wide ? 1 : 0;
  if (b >= 0x80 && b <= 0x8f) {
    const d = p66 && !m64 ? <i64><i16>imm16() : <i64>imm32();
    if (lock || p66) return putFBEND();
    return putJump(H_JCC, b & 15, d);
  }
  if (b >= 0x40 && b <= 0x4f) {
    modrm();
    if (!plain || !sz32) return putFB();
    info = I_FR;
    if (mod == 3) { put(H_CMOV_RR32 + o32, regF, rmF, 0, 0, 0, b & 15, 0, 0); return D_NORMAL; }
    if (!putM(H_CMOV_RM32 + o32, regF, b & 15, 0)) return putFB();
    info |= I_MEM;
    return D_NORMAL;
  }
  if (b >= 0x90 && b <= 0x9f) {
    modrm();
    if (!plain) return putFB();
    info = I_FR;
    if (mod == 3) { put(H_SETCC_R, r8(rmF), 0, 0, 0, 0, b & 15, 0, 0); return D_NORMAL; }
    if (!putM(H_SETCC_M, 0, b & 15, 0)) return putFB();
    info |= I_MEM;
    return D_NORMAL;
  }
  switch (b) {
    case 0x0d: case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      modrm(); // hint NOPs (endbr64 is F3 0F 1E FA)
      if (lock) return putFB();
      put(H_NOP, 0, 0, 0, 0, 0, 0, 0, 0);
      return D_NORMAL;
    case 0xaf:
      modrm();
      if (!plain || !sz32) return putFB();
      info = I_FW;
      if (mod == 3) { put(H_IMUL_RR32 + o32, regF, rmF, 0, 0, 0, 0, 0, 0); return D_NORMAL; }
      if (!putM(H_IMUL_RM32 + o32, regF, 0, 0)) return putFB();
      info |= I_MEM;
      return D_NORMAL;
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
      modrm();
      if (!plain || !sz32) return putFB();
      const sx = b >= 0xbe;
      const byteSrc = (b & 1) == 0;
      if (mod == 3) {
        const src = byteSrc ? r8(rmF) : rmF;
        put(sx ? (byteSrc ? H_MOVSX_R8 : H_MOVSX_R16) : (byteSrc ? H_MOVZX_R8 : H_MOVZX_R16), regF, src, 0, 0, 0, o32, 0, 0);
        return D_NORMAL;
      }
      if (!putM(sx ? (byteSrc ? H_MOVSX_M8 : H_MOVSX_M16) : (byteSrc ? H_MOVZX_M8 : H_MOVZX_M16), regF, o32, 0)) return putFB();
      info = I_MEM;
      return D_NORMAL;
    }
    case 0x31: case 0xa2: case 0x0e: case 0x77: case 0xa0: case 0xa8:
      return putFB();   // RDTSC CPUID FEMMS EMMS PUSH FS/GS
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf:
      return putFB();   // BSWAP
    case 0xa3: case 0xab: case 0xb3: case 0xbb: case 0xa5: case 0xad: case 0xb0: case 0xb1:
    case 0xbc: case 0xbd: case 0xb8: case 0xc0: case 0xc1: case 0xc7: case 0xae:
      modrm();
      return putFB();
    case 0xa4: case 0xac: case 0xba:
      modrm(); byte();
      return putFB();
    case 0x38:
      byte(); modrm();
      return putFB();
    case 0x3a:
      byte(); modrm(); byte();
      return putFB();
    default:
      if (sse0F(b)) {
        modrm();
        if ((b >= 0x70 && b <= 0x73) || b == 0xc2 || b == 0xc4 || b == 0xc5 || b == 0xc6) byte();
        return putFB();
      }
      return putFBEND();
  }
}

// Builds the block starting at page offset `off` of host page `page` (instruction pointer rip).
export function buildBlock(page: usize, off: u32): usize {
  const b = blockSpace(MAX_BLOCK_BYTES);
  m64 = mode64;
  pg = page;
  rp = b + HDR;
  let at = off;
  let n: u32 = 0;
  let nrec: u32 = 0;
  let term = false;
  while (true) {
    if (n >= <u32>MAX_INS) break;
    insOff = at - off;
    insIdx = n;
    const k = decodeOne(at);
    if (k == D_NOFIT) {
      if (n == 0) { q = at + 1; insStart = at; put(H_FBEND, 0, 0, 0, 0, 0, 0, 0, 0); info = I_MEM; }
      else break;
      store<u8>(INFO + nrec, info); store<u32>(RECP + (nrec << 2), <u32>rp);
      rp += 32; n++; nrec++; term = true;
      at = at + 1;
      break;
    }
    store<u8>(INFO + nrec, info); store<u32>(RECP + (nrec << 2), <u32>rp);
    rp += recSize(<i32>load<u8>(rp));
    n++; nrec++;
    at = q;
    if (k == D_END) { term = true; break; }
  }
  if (!term) {
    // fall through into the next instruction
    q = at; insStart = at;
    put(H_FALL, 0, 0, 0, 0, 0, 0, <i32>(at - off), 0);
    store<u8>(INFO + nrec, 0); store<u32>(RECP + (nrec << 2), <u32>rp);
    rp += 32; nrec++;
  }
  // terminators: chain slots and the instruction count of the block
  const last = <usize>load<u32>(RECP + ((nrec - 1) << 2));
  if (recSize(<i32>load<u8>(last)) == 32) { store<u64>(last, 0, 16); store<u32>(last, n, 24); store<u32>(last, 0, 28); }
  // flag liveness, backwards
  let live = true;
  for (let i = <i32>nrec - 1; i >= 0; i--) {
    const inf = load<u8>(INFO + <usize>i);
    if ((inf & I_FW) != 0 && (inf & I_MEM) == 0 && !live) {
      // nothing observes this result: skip computing it (ADC/SBB still read CF for their value)
      const rec = <usize>load<u32>(RECP + (<usize>i << 2));
      store<u8>(rec, load<u8>(rec, 5) | <u8>FL_DEAD, 5);
      if ((inf & I_FR) != 0) live = true;
      continue;
    }
    if ((inf & (I_MEM | I_FR | I_FP)) != 0) live = true;
    else if ((inf & I_FW) != 0) live = false;
  }
  store<u32>(b, <u32>(page + off), B_KEY);
  store<u8>(b, 1, B_VALID);
  store<u8>(b, <u8>n, B_NINS);
  store<u16>(b, <u16>(at - off), B_LEN);
  commitBlock(b, rp - b, page, off, at > off ? at : off + 1);
  return b;
}
