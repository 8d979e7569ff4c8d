// SSE/SSE2 instructions (0F-prefixed opcodes not handled by the integer decoder).
//
// Floating point is done in software on top of wasm f64 arithmetic so that the results and
// MXCSR flags match the hardware bit for bit (SDM vol. 1 ch. 4.8, 4.9, 10.2.3, 11.5):
//   - every operation produces an "exact value descriptor" (sign, unbounded exponent,
//     63-bit significand with a sticky bit jammed into bit 0), obtained from wasm f64
//     operations on normalized significands plus an exact error term (TwoSum, Dekker
//     TwoProduct), so there is never overflow, underflow or double rounding in the f64 step;
//   - `roundPack` rounds the descriptor to binary32 / binary64 honouring MXCSR.RC, detects
//     overflow, tininess after rounding (as x86 does), denormal loss and inexactness, and
//     applies FTZ. DAZ is applied to the inputs.
//   - NaN propagation follows SDM vol. 1 table 4-7 (first operand wins, SNaNs are quieted;
//     invalid operations return the default NaN); MIN/MAX return the second operand on NaN
//     or equal zeros; conversions to integer return the integer indefinite value.
// Unmasked exceptions raise #XM (or #UD when CR4.OSXMMEXCPT is clear) without writing the
// destination. MXCSR flags then follow the hardware: an unmasked IE/DE/ZE in any element
// sets only the pre-computation flags; an unmasked OE/UE sets that flag plus PE when the
// exponent-adjusted result was inexact. DE is not reported when the element is invalid,
// divides by zero or has a NaN operand. CR0.EM gives #UD, CR0.TS #NM; CR4.OSFXSR is not checked.
// Checked against the host CPU by emulator/test/sse (and the scalar groups of test/diff).
// MMX forms (no mandatory prefix on the integer opcodes) are not implemented: CPUID does not
// report MMX, so they raise #UD, as do SSE3 and later opcodes.
// RCPPS/RCPSS/RSQRTPS/RSQRTSS return correctly rounded results (the hardware returns a
// vendor-specific 12-bit approximation; the tests check the SDM error bound for these).
import { XMM, mxcsr, cr0, cr4, linMask, reg64, DS } from './state';
import { readLin, writeLin, raise, raiseUD, raiseGP, probeWrite } from './mem';
import {
  p66, pRep, pRex, pAd, pSeg, pLock, mMod, mReg, mRm, decodeModrm, mLin, linOf, getReg, setReg, fetch8,
} from './decode';
import { setArith, CF, PF, ZF } from './flags';

// ---------------------------------------------------------------- scratch and register access
const TMP: usize = memory.data(48, 16);
const S: usize = TMP;        // memory source operand
const R: usize = TMP + 16;   // result being built

@inline function xp(i: i32): usize { return XMM + (<usize>i << 4); }
@inline function copy16(dst: usize, src: usize): void {
  const lo = load<u64>(src); const hi = load<u64>(src, 8);
  store<u64>(dst, lo); store<u64>(dst, hi, 8);
}

// xmm/m128 source: pointer to the register, or to S holding the memory operand.
function srcX(align: bool): usize {
  if (mMod == 3) return xp(mRm);
  const lin = mLin();
  if (align && (lin & 15) != 0) raiseGP(0);
  store<u64>(S, readLin(lin, 8));
  store<u64>(S, readLin((lin + 8) & linMask, 8), 8);
  return S;
}
// xmm/m32 or xmm/m64 source (memory form zero-extended in S).
function srcScalar(size: i32): usize {
  if (mMod == 3) return xp(mRm);
  store<u64>(S, readLin(mLin(), size));
  store<u64>(S, 0, 8);
  return S;
}
// 16-byte store: both ends are probed first so that a fault leaves memory untouched.
function store128(lin: u64, p: usize, align: bool): void {
  if (align && (lin & 15) != 0) raiseGP(0);
  probeWrite(lin);
  probeWrite((lin + 15) & linMask);
  writeLin(lin, 8, load<u64>(p));
  writeLin((lin + 8) & linMask, 8, load<u64>(p, 8));
}

// ---------------------------------------------------------------- MXCSR / exception state
export const MX_IE: u32 = 1; export const MX_DE: u32 = 2; export const MX_ZE: u32 = 4;
export const MX_OE: u32 = 8; export const MX_UE: u32 = 16; export const MX_PE: u32 = 32;
const RN = 0; const RD = 1; const RU = 2; const RZ = 3;

let fl: u32 = 0;      // flags detected by the current instruction
let ef: u32 = 0;      // flags detected by the current element
let rc: i32 = RN;     // rounding control
let ftz: bool = false;
let daz: bool = false;

function fpBegin(): void {
  fl = 0;
  rc = <i32>(mxcsr >> 13) & 3;
  ftz = (mxcsr & 0x8000) != 0;
  daz = (mxcsr & 0x40) != 0;
}
// Called before the destination is written.
// An unmasked pre-computation exception (IE DE ZE) in any element suppresses the
// post-computation flags (OE UE PE) of all elements (SDM vol. 1 s11.5.1).
function fpEnd(): void {
  if (fl == 0) return;
  const unmasked = ~(mxcsr >> 7) & 0x3f;
  if ((fl & unmasked & 7) != 0) {
    mxcsr |= fl & 7;
    xmFault();
  }
  mxcsr |= fl;
  if ((fl & unmasked) != 0) xmFault();
}
function xmFault(): void {
  if ((cr4 & 0x400) != 0) raise(19, 0, false); // #XM
  else raiseUD();                              // CR4.OSXMMEXCPT clear
}

// ---------------------------------------------------------------- format helpers
// Values are raw bit patterns in a u64 (binary32 in the low 32 bits).
@inline function sgnBit(dbl: bool): u64 { return dbl ? 0x8000000000000000 : 0x80000000; }
@inline function expOf(dbl: bool, x: u64): i32 { return dbl ? <i32>((x >> 52) & 0x7ff) : <i32>((x >> 23) & 0xff); }
@inline function fracOf(dbl: bool, x: u64): u64 { return dbl ? x & 0xfffffffffffff : x & 0x7fffff; }
@inline function expMax(dbl: bool): i32 { return dbl ? 0x7ff : 0xff; }
@inline function isNaNx(dbl: bool, x: u64): bool { return expOf(dbl, x) == expMax(dbl) && fracOf(dbl, x) != 0; }
@inline function qBit(dbl: bool): u64 { return dbl ? 0x8000000000000 : 0x400000; }
@inline function isSNaNx(dbl: bool, x: u64): bool { return isNaNx(dbl, x) && (x & qBit(dbl)) == 0; }
@inline function isInfx(dbl: bool, x: u64): bool { return expOf(dbl, x) == expMax(dbl) && fracOf(dbl, x) == 0; }
@inline function isZerox(dbl: bool, x: u64): bool { return (x & ~sgnBit(dbl) & (dbl ? 0xffffffffffffffff : 0xffffffff)) == 0; }
@inline function isDenx(dbl: bool, x: u64): bool { return expOf(dbl, x) == 0 && fracOf(dbl, x) != 0; }
@inline function quiet(dbl: bool, x: u64): u64 { return x | qBit(dbl); }
@inline function defNaN(dbl: bool): u64 { return dbl ? 0xfff8000000000000 : 0xffc00000; }
@inline function infOf(dbl: bool): u64 { return dbl ? 0x7ff0000000000000 : 0x7f800000; }
@inline function toF64(dbl: bool, x: u64): f64 {
  return dbl ? reinterpret<f64>(x) : <f64>reinterpret<f32>(<u32>x);
}
@inline function pow2(k: i32): f64 { return reinterpret<f64>(<u64>(1023 + k) << 52); }
@inline function sgnOf(v: f64): i32 { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

// Significand of a finite nonzero value as an f64 in [1, 2); the unbiased exponent goes to uE.
let uE: i32 = 0;
function unpack(dbl: bool, x: u64): f64 {
  let e: i32; let f: u64;
  if (dbl) { e = <i32>((x >> 52) & 0x7ff); f = x & 0xfffffffffffff; }
  else { e = <i32>((x >> 23) & 0xff); f = (x & 0x7fffff) << 29; }
  if (e == 0) {
    const s = <i32>clz<u64>(f) - 11;
    f = (f << <u64>s) & 0xfffffffffffff;
    e = 1 - s;
  }
  uE = e - (dbl ? 1023 : 127);
  return reinterpret<f64>((<u64>1023 << 52) | f);
}

// ---------------------------------------------------------------- exact value descriptor
// value = dM * 2^(dE - 62), dM in [2^62, 2^63); bit 0 of dM is sticky (value lies strictly
// between dM-1 and dM+1 when set and the representation came from an inexact step).
let dE: i32 = 0;
let dM: u64 = 0;

// From a positive normal f64 v scaled by 2^eAdd; res: sign of (exact - v).
function fromF64(v: f64, eAdd: i32, res: i32): void {
  const b = reinterpret<u64>(v);
  dE = <i32>(b >> 52) - 1023 + eAdd;
  let m = ((b & 0xfffffffffffff) | 0x10000000000000) << 10;
  if (res > 0) m |= 1;
  else if (res < 0) {
    m -= 1;
    if (m < 0x4000000000000000) { m = (m << 1) | 1; dE -= 1; }
  }
  dM = m;
}

// Shift m right by `drop` bits, rounding with mode `mode`; sets rInexact.
let rInexact: bool = false;
function rnd(m: u64, drop: i32, neg: bool, mode: i32): u64 {
  if (drop <= 0) { rInexact = false; return m; }
  let kept: u64;
  if (drop >= 64) {
    // m < 2^63: the value is below half a unit
    kept = 0;
    rInexact = m != 0;
    if (rInexact && ((mode == RD && neg) || (mode == RU && !neg))) kept = 1;
    return kept;
  }
  kept = m >> <u64>drop;
  const rem = m & ((<u64>1 << <u64>drop) - 1);
  const half = <u64>1 << <u64>(drop - 1);
  rInexact = rem != 0;
  if (rInexact) {
    if (mode == RN) { if (rem > half || (rem == half && (kept & 1) != 0)) kept++; }
    else if (mode == RD) { if (neg) kept++; }
    else if (mode == RU) { if (!neg) kept++; }
  }
  return kept;
}

// Round (neg, e, m) to the destination format with MXCSR.RC, setting OE UE PE in ef.
function roundPack(dbl: bool, neg: bool, e: i32, m: u64): u64 {
  const p = dbl ? 53 : 24;
  const emin = dbl ? -1022 : -126;
  const emax = dbl ? 1023 : 127;
  const bias = dbl ? 1023 : 127;
  const sign: u64 = neg ? sgnBit(dbl) : 0;
  let k = rnd(m, 63 - p, neg, rc);
  let eu = e;
  if (k == (<u64>1 << <u64>p)) { k >>= 1; eu++; }
  if (eu > emax) {
    // Unmasked: #XM, no result; PE reports whether the exponent-adjusted result was rounded.
    if ((mxcsr & 0x400) == 0) { ef |= rInexact ? MX_OE | MX_PE : MX_OE; return 0; }
    ef |= MX_OE | MX_PE;
    const toInf = rc == RN || (rc == RU && !neg) || (rc == RD && neg);
    if (toInf) return sign | infOf(dbl);
    return sign | (dbl ? 0x7fefffffffffffff : 0x7f7fffff);
  }
  if (eu >= emin) {
    if (rInexact) ef |= MX_PE;
    return sign | ((<u64>(eu + bias - 1) << <u64>(p - 1)) + k);
  }
  // Tiny (after rounding with unbounded exponent).
  if ((mxcsr & 0x800) == 0) { ef |= rInexact ? MX_UE | MX_PE : MX_UE; return 0; } // unmasked, as above
  if (ftz) { ef |= MX_UE | MX_PE; return sign; }
  const k2 = rnd(m, 63 - p + (emin - e), neg, rc);
  if (rInexact) ef |= MX_UE | MX_PE;
  return sign | k2;
}

// Exact error of a product of two f64 values in [1, 4) (Dekker TwoProduct, no FMA in wasm).
function twoProdErr(a: f64, b: f64, p: f64): f64 {
  const ca = 134217729.0 * a; const ah = ca - (ca - a); const al = a - ah;
  const cb = 134217729.0 * b; const bh = cb - (cb - b); const bl = b - bh;
  return (((ah * bh - p) + ah * bl) + al * bh) + al * bl;
}

// ---------------------------------------------------------------- arithmetic on finite operands
// a, b: non-NaN, DAZ already applied.
function fAdd(dbl: bool, a: u64, b: u64): u64 {
  const sb = sgnBit(dbl);
  let na = (a & sb) != 0; let nb = (b & sb) != 0;
  const ia = isInfx(dbl, a); const ib = isInfx(dbl, b);
  if (ia || ib) {
    if (ia && ib && na != nb) { ef |= MX_IE; return defNaN(dbl); }
    return ia ? a : b;
  }
  const za = isZerox(dbl, a); const zb = isZerox(dbl, b);
  if (za && zb) return na == nb ? a : (rc == RD ? sb : 0);
  if (za || zb) return repack(dbl, za ? b : a);
  let ma = unpack(dbl, a); let ea = uE;
  let mb = unpack(dbl, b); let eb = uE;
  if (ea < eb || (ea == eb && ma < mb)) {
    const tm = ma; ma = mb; mb = tm;
    const te = ea; ea = eb; eb = te;
    const tn = na; na = nb; nb = tn;
  }
  const d = ea - eb;
  if (d > 64) {
    fromF64(ma, ea, na == nb ? 1 : -1);
    return roundPack(dbl, na, dE, dM);
  }
  const y = na == nb ? mb * pow2(-d) : -(mb * pow2(-d));
  const s = ma + y;
  if (s == 0) return rc == RD ? sb : 0;
  const bb = s - ma;
  const err = (ma - (s - bb)) + (y - bb);
  fromF64(s, ea, sgnOf(err));
  return roundPack(dbl, na, dE, dM);
}

// A finite nonzero operand passed through unchanged (still subject to FTZ).
function repack(dbl: bool, x: u64): u64 {
  const m = unpack(dbl, x);
  fromF64(m, uE, 0);
  return roundPack(dbl, (x & sgnBit(dbl)) != 0, dE, dM);
}

function fMul(dbl: bool, a: u64, b: u64): u64 {
  const sb = sgnBit(dbl);
  const neg = ((a ^ b) & sb) != 0;
  const sign: u64 = neg ? sb : 0;
  const ia = isInfx(dbl, a); const ib = isInfx(dbl, b);
  const za = isZerox(dbl, a); const zb = isZerox(dbl, b);
  if (ia || ib) {
    if (za || zb) { ef |= MX_IE; return defNaN(dbl); }
    return sign | infOf(dbl);
  }
  if (za || zb) return sign;
  const ma = unpack(dbl, a); const ea = uE;
  const mb = unpack(dbl, b); const eb = uE;
  const p = ma * mb;
  fromF64(p, ea + eb, sgnOf(twoProdErr(ma, mb, p)));
  return roundPack(dbl, neg, dE, dM);
}

function fDiv(dbl: bool, a: u64, b: u64): u64 {
  const sb = sgnBit(dbl);
  const neg = ((a ^ b) & sb) != 0;
  const sign: u64 = neg ? sb : 0;
  const ia = isInfx(dbl, a); const ib = isInfx(dbl, b);
  const za = isZerox(dbl, a); const zb = isZerox(dbl, b);
  if (ia) {
    if (ib) { ef |= MX_IE; return defNaN(dbl); }
    return sign | infOf(dbl);
  }
  if (ib) return sign;
  if (zb) {
    if (za) { ef |= MX_IE; return defNaN(dbl); }
    ef |= MX_ZE;
    return sign | infOf(dbl);
  }
  if (za) return sign;
  const ma = unpack(dbl, a); const ea = uE;
  const mb = unpack(dbl, b); const eb = uE;
  const q = ma / mb;
  const p = q * mb;
  const r = (ma - p) - twoProdErr(q, mb, p);
  fromF64(q, ea - eb, sgnOf(r));
  return roundPack(dbl, neg, dE, dM);
}

function fSqrt(dbl: bool, x: u64): u64 {
  if (isNaNx(dbl, x)) {
    if (isSNaNx(dbl, x)) ef |= MX_IE;
    return quiet(dbl, x);
  }
  const sb = sgnBit(dbl);
  let de = false;
  if (isDenx(dbl, x)) { if (daz) x &= sb; else de = true; }
  if (isZerox(dbl, x)) return x;
  if ((x & sb) != 0) { ef |= MX_IE; return defNaN(dbl); }
  if (isInfx(dbl, x)) return x;
  if (de) ef |= MX_DE;
  let m = unpack(dbl, x); let e = uE;
  if ((e & 1) != 0) { m *= 2.0; e -= 1; }
  const r = sqrt<f64>(m);
  const p = r * r;
  const diff = (m - p) - twoProdErr(r, r, p);
  fromF64(r, e >> 1, sgnOf(diff));
  return roundPack(dbl, false, dE, dM);
}

// Two-operand arithmetic (ADD SUB MUL DIV by opcode) with NaN and denormal-operand handling.
function fBin(op: u32, dbl: bool, a: u64, b: u64): u64 {
  const an = isNaNx(dbl, a); const bn = isNaNx(dbl, b);
  if (an || bn) {
    if (isSNaNx(dbl, a) || isSNaNx(dbl, b)) ef |= MX_IE;
    return quiet(dbl, an ? a : b);
  }
  const sb = sgnBit(dbl);
  let de = false;
  if (isDenx(dbl, a)) { if (daz) a &= sb; else de = true; }
  if (isDenx(dbl, b)) { if (daz) b &= sb; else de = true; }
  let r: u64;
  switch (op) {
    case 0x58: r = fAdd(dbl, a, b); break;
    case 0x5c: r = fAdd(dbl, a, b ^ sb); break;
    case 0x59: r = fMul(dbl, a, b); break;
    default: r = fDiv(dbl, a, b); break;
  }
  if (de && (ef & (MX_IE | MX_ZE)) == 0) ef |= MX_DE;
  return r;
}

function fMinMax(isMax: bool, dbl: bool, a: u64, b: u64): u64 {
  const sb = sgnBit(dbl);
  // DAZ applies before NaN selection: a denormal second operand is returned as zero.
  if (daz) { if (isDenx(dbl, a)) a &= sb; if (isDenx(dbl, b)) b &= sb; }
  if (isNaNx(dbl, a) || isNaNx(dbl, b)) { ef |= MX_IE; return b; }
  if (isDenx(dbl, a) || isDenx(dbl, b)) ef |= MX_DE;
  const x = toF64(dbl, a); const y = toF64(dbl, b);
  if (isMax) return x > y ? a : b;
  return x < y ? a : b;
}

// CMPxx predicate 0-7 (EQ LT LE UNORD NEQ NLT NLE ORD).
function fCmp(pred: i32, dbl: bool, a: u64, b: u64): bool {
  const un = isNaNx(dbl, a) || isNaNx(dbl, b);
  if (un) {
    if (isSNaNx(dbl, a) || isSNaNx(dbl, b) || (pred & 3) == 1 || (pred & 3) == 2) ef |= MX_IE;
  } else {
    const sb = sgnBit(dbl);
    if (isDenx(dbl, a)) { if (daz) a &= sb; else ef |= MX_DE; }
    if (isDenx(dbl, b)) { if (daz) b &= sb; else ef |= MX_DE; }
  }
  const x = toF64(dbl, a); const y = toF64(dbl, b);
  switch (pred & 7) {
    case 0: return !un && x == y;
    case 1: return !un && x < y;
    case 2: return !un && x <= y;
    case 3: return un;
    case 4: return un || x != y;
    case 5: return un || !(x < y);
    case 6: return un || !(x <= y);
    default: return !un;
  }
}

// One element of a 0F 51/58-5F operation; flags accumulate in fl.
function fpElem(op: u32, dbl: bool, a: u64, b: u64): u64 {
  ef = 0;
  let r: u64;
  if (op == 0x51) r = fSqrt(dbl, b);
  else if (op == 0x5d) r = fMinMax(false, dbl, a, b);
  else if (op == 0x5f) r = fMinMax(true, dbl, a, b);
  else r = fBin(op, dbl, a, b);
  fl |= ef;
  return r;
}

// ---------------------------------------------------------------- conversions
// Float -> signed integer (32 or 64 bits) with rounding mode `mode`.
function cvtToInt(dbl: bool, x: u64, w64: bool, mode: i32): u64 {
  ef = 0;
  const indef: u64 = w64 ? 0x8000000000000000 : 0x80000000;
  if (expOf(dbl, x) == expMax(dbl)) { ef |= MX_IE; fl |= ef; return indef; }
  if (isZerox(dbl, x) || (daz && isDenx(dbl, x))) return 0;
  const neg = (x & sgnBit(dbl)) != 0;
  const ma = unpack(dbl, x); const e = uE;
  const M = (reinterpret<u64>(ma) & 0xfffffffffffff) | 0x10000000000000; // value = M * 2^(e-52)
  let mag: u64;
  let inexact = false;
  if (e >= 64) { ef |= MX_IE; fl |= ef; return indef; }
  if (e >= 52) mag = M << <u64>(e - 52);
  else { mag = rnd(M, 52 - e, neg, mode); inexact = rInexact; }
  const limit: u64 = w64 ? 0x8000000000000000 : 0x80000000;
  if (mag > limit || (mag == limit && !neg)) { ef |= MX_IE; fl |= ef; return indef; }
  if (inexact) ef |= MX_PE;
  fl |= ef;
  const r = neg ? 0 - mag : mag;
  return w64 ? r : r & 0xffffffff;
}

// Signed integer -> float.
function cvtFromInt(dbl: bool, v: i64): u64 {
  if (v == 0) return 0;
  ef = 0;
  const neg = v < 0;
  const mag: u64 = neg ? <u64>(0 - v) : <u64>v;
  const lz = <i32>clz<u64>(mag);
  const t = mag << <u64>lz;
  const r = roundPack(dbl, neg, 63 - lz, (t >> 1) | (t & 1));
  fl |= ef;
  return r;
}

function cvtS2D(x: u64): u64 {
  ef = 0;
  let r: u64;
  if (isNaNx(false, x)) {
    if (isSNaNx(false, x)) ef |= MX_IE;
    r = ((x & 0x80000000) << 32) | 0x7ff8000000000000 | ((x & 0x3fffff) << 29);
  } else if (isDenx(false, x) && daz) {
    r = (x & 0x80000000) << 32;
  } else {
    if (isDenx(false, x)) ef |= MX_DE;
    r = reinterpret<u64>(<f64>reinterpret<f32>(<u32>x));
  }
  fl |= ef;
  return r;
}

function cvtD2S(x: u64): u64 {
  ef = 0;
  const sign = (x >> 32) & 0x80000000;
  let r: u64;
  if (isNaNx(true, x)) {
    if (isSNaNx(true, x)) ef |= MX_IE;
    r = sign | 0x7fc00000 | ((x >> 29) & 0x3fffff);
  } else if (isInfx(true, x)) {
    r = sign | 0x7f800000;
  } else if (isZerox(true, x) || (daz && isDenx(true, x))) {
    r = sign;
  } else {
    if (isDenx(true, x)) ef |= MX_DE;
    const m = unpack(true, x);
    fromF64(m, uE, 0);
    r = roundPack(false, sign != 0, dE, dM);
  }
  fl |= ef;
  return r;
}

// ---------------------------------------------------------------- instruction groups
function sseAvail(): void {
  if ((cr0 & 4) != 0) raiseUD();            // CR0.EM
  if ((cr0 & 8) != 0) raise(7, 0, false);   // CR0.TS: #NM
}

// 0F 51 58 59 5C 5D 5E 5F: SQRT ADD MUL SUB MIN DIV MAX (PS PD SS SD)
function fpArith(op: u32, pfx: i32): void {
  decodeModrm(0);
  const d = xp(mReg);
  fpBegin();
  if (pfx >= 2) {
    const dbl = pfx == 3;
    const s = srcScalar(dbl ? 8 : 4);
    if (dbl) {
      const r = fpElem(op, true, load<u64>(d), load<u64>(s));
      fpEnd();
      store<u64>(d, r);
    } else {
      const r = fpElem(op, false, <u64>load<u32>(d), <u64>load<u32>(s));
      fpEnd();
      store<u32>(d, <u32>r);
    }
    return;
  }
  const s = srcX(true);
  if (pfx == 1) {
    for (let i: usize = 0; i < 16; i += 8) store<u64>(R + i, fpElem(op, true, load<u64>(d + i), load<u64>(s + i)));
  } else {
    for (let i: usize = 0; i < 16; i += 4) {
      store<u32>(R + i, <u32>fpElem(op, false, <u64>load<u32>(d + i), <u64>load<u32>(s + i)));
    }
  }
  fpEnd();
  copy16(d, R);
}

// 0F 52 / 53: RSQRTPS RSQRTSS RCPPS RCPSS (no exceptions, denormal inputs act as zero).
function rcpElem(rsq: bool, x: u32): u32 {
  const sign = x & 0x80000000;
  const ex = (x >> 23) & 0xff;
  if (ex == 0xff && (x & 0x7fffff) != 0) return x | 0x400000;
  if (ex == 0) return rsq ? sign | 0x7f800000 : sign | 0x7f800000;
  if (rsq && sign != 0) return 0xffc00000;
  if (ex == 0xff) return rsq ? 0 : sign;
  // SDM "RCPSS": inputs of magnitude >= 2^126 are guaranteed to give tiny results, which are
  // flushed to 0 with the operand's sign (the exact 1/2^126 would round to the smallest normal).
  if (!rsq && ex >= 253) return sign;
  const v = <f64>reinterpret<f32>(x);
  const r = <f32>(rsq ? 1.0 / sqrt<f64>(v) : 1.0 / v);
  let b = reinterpret<u32>(r);
  if (((b >> 23) & 0xff) == 0) b &= 0x80000000; // tiny results are flushed
  return b;
}
function rcpInsn(op: u32, pfx: i32): void {
  if (pfx != 0 && pfx != 2) { raiseUD(); return; }
  decodeModrm(0);
  const d = xp(mReg);
  const rsq = op == 0x52;
  if (pfx == 2) {
    const s = srcScalar(4);
    store<u32>(d, rcpElem(rsq, load<u32>(s)));
    return;
  }
  const s = srcX(true);
  for (let i: usize = 0; i < 16; i += 4) store<u32>(R + i, rcpElem(rsq, load<u32>(s + i)));
  copy16(d, R);
}

// 0F C2 ib: CMPPS CMPPD CMPSS CMPSD
function cmpInsn(pfx: i32): void {
  decodeModrm(1);
  const d = xp(mReg);
  const dbl = pfx == 1 || pfx == 3;
  let s: usize;
  if (pfx >= 2) s = srcScalar(dbl ? 8 : 4); else s = srcX(true);
  const pred = <i32>fetch8() & 7;
  fpBegin();
  const n: usize = pfx >= 2 ? (dbl ? 8 : 4) : 16;
  copy16(R, d);
  if (dbl) {
    for (let i: usize = 0; i < n; i += 8) {
      ef = 0;
      store<u64>(R + i, fCmp(pred, true, load<u64>(d + i), load<u64>(s + i)) ? 0xffffffffffffffff : 0);
      fl |= ef;
    }
  } else {
    for (let i: usize = 0; i < n; i += 4) {
      ef = 0;
      store<u32>(R + i, fCmp(pred, false, <u64>load<u32>(d + i), <u64>load<u32>(s + i)) ? 0xffffffff : 0);
      fl |= ef;
    }
  }
  fpEnd();
  copy16(d, R);
}

// 0F 2E / 2F: UCOMISS COMISS (66: SD)
function comis(op: u32, pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; }
  decodeModrm(0);
  const dbl = pfx == 1;
  const s = srcScalar(dbl ? 8 : 4);
  let a: u64 = dbl ? load<u64>(xp(mReg)) : <u64>load<u32>(xp(mReg));
  let b: u64 = dbl ? load<u64>(s) : <u64>load<u32>(s);
  fpBegin();
  ef = 0;
  let f: u64;
  if (isNaNx(dbl, a) || isNaNx(dbl, b)) {
    if (op == 0x2f || isSNaNx(dbl, a) || isSNaNx(dbl, b)) ef |= MX_IE;
    f = ZF | PF | CF;
  } else {
    const sb = sgnBit(dbl);
    if (isDenx(dbl, a)) { if (daz) a &= sb; else ef |= MX_DE; }
    if (isDenx(dbl, b)) { if (daz) b &= sb; else ef |= MX_DE; }
    const x = toF64(dbl, a); const y = toF64(dbl, b);
    f = x < y ? CF : (x == y ? ZF : 0);
  }
  fl |= ef;
  fpEnd();
  setArith(f);
}

// F3/F2 0F 2A: CVTSI2SS CVTSI2SD
function cvtsi2(pfx: i32): void {
  if (pfx < 2) { raiseUD(); return; } // CVTPI2PS / CVTPI2PD (MMX)
  decodeModrm(0);
  const w = (pRex & 8) != 0 ? 8 : 4;
  const raw = mMod == 3 ? getReg(mRm, w) : readLin(mLin(), w);
  const v: i64 = w == 8 ? <i64>raw : <i64><i32><u32>raw;
  const dbl = pfx == 3;
  fpBegin();
  const r = cvtFromInt(dbl, v);
  fpEnd();
  const d = xp(mReg);
  if (dbl) store<u64>(d, r); else store<u32>(d, <u32>r);
}

// F3/F2 0F 2C / 2D: CVTTSS2SI CVTTSD2SI CVTSS2SI CVTSD2SI
function cvt2si(op: u32, pfx: i32): void {
  if (pfx < 2) { raiseUD(); return; } // CVTTPS2PI etc. (MMX)
  decodeModrm(0);
  const dbl = pfx == 3;
  const s = srcScalar(dbl ? 8 : 4);
  const x: u64 = dbl ? load<u64>(s) : <u64>load<u32>(s);
  const w64 = (pRex & 8) != 0;
  fpBegin();
  const r = cvtToInt(dbl, x, w64, op == 0x2c ? RZ : rc);
  fpEnd();
  setReg(mReg, w64 ? 8 : 4, r);
}

// 0F 5A: CVTPS2PD CVTPD2PS CVTSS2SD CVTSD2SS
function cvt5a(pfx: i32): void {
  decodeModrm(0);
  const d = xp(mReg);
  fpBegin();
  if (pfx == 0) {
    const s = srcScalar(8);
    const lo = cvtS2D(<u64>load<u32>(s));
    const hi = cvtS2D(<u64>load<u32>(s, 4));
    fpEnd();
    store<u64>(d, lo); store<u64>(d, hi, 8);
  } else if (pfx == 1) {
    const s = srcX(true);
    const lo = cvtD2S(load<u64>(s));
    const hi = cvtD2S(load<u64>(s, 8));
    fpEnd();
    store<u64>(d, lo | (hi << 32)); store<u64>(d, 0, 8);
  } else if (pfx == 2) {
    const s = srcScalar(4);
    const r = cvtS2D(<u64>load<u32>(s));
    fpEnd();
    store<u64>(d, r);
  } else {
    const s = srcScalar(8);
    const r = cvtD2S(load<u64>(s));
    fpEnd();
    store<u32>(d, <u32>r);
  }
}

// 0F 5B: CVTDQ2PS CVTPS2DQ (66) CVTTPS2DQ (F3)
function cvt5b(pfx: i32): void {
  if (pfx == 3) { raiseUD(); return; }
  decodeModrm(0);
  const d = xp(mReg);
  const s = srcX(true);
  fpBegin();
  for (let i: usize = 0; i < 16; i += 4) {
    const x = load<u32>(s + i);
    let r: u64;
    if (pfx == 0) r = cvtFromInt(false, <i64><i32>x);
    else r = cvtToInt(false, <u64>x, false, pfx == 2 ? RZ : rc);
    store<u32>(R + i, <u32>r);
  }
  fpEnd();
  copy16(d, R);
}

// 0F E6: CVTDQ2PD (F3) CVTPD2DQ (F2) CVTTPD2DQ (66)
function cvtE6(pfx: i32): void {
  if (pfx == 0) { raiseUD(); return; }
  decodeModrm(0);
  const d = xp(mReg);
  fpBegin();
  if (pfx == 2) {
    const s = srcScalar(8);
    const lo = cvtFromInt(true, <i64>load<i32>(s));
    const hi = cvtFromInt(true, <i64>load<i32>(s, 4));
    fpEnd();
    store<u64>(d, lo); store<u64>(d, hi, 8);
    return;
  }
  const s = srcX(true);
  const mode = pfx == 1 ? RZ : rc;
  const lo = cvtToInt(true, load<u64>(s), false, mode);
  const hi = cvtToInt(true, load<u64>(s, 8), false, mode);
  fpEnd();
  store<u64>(d, lo | (hi << 32)); store<u64>(d, 0, 8);
}

// ---------------------------------------------------------------- moves
// 0F 10 / 11: MOVUPS MOVUPD MOVSS MOVSD
function movUps(op: u32, pfx: i32): void {
  decodeModrm(0);
  if (pfx <= 1) {
    if (op == 0x10) copy16(xp(mReg), srcX(false));
    else if (mMod == 3) copy16(xp(mRm), xp(mReg));
    else store128(mLin(), xp(mReg), false);
    return;
  }
  const sz = pfx == 2 ? 4 : 8;
  if (op == 0x10) {
    const d = xp(mReg);
    if (mMod == 3) {
      if (sz == 4) store<u32>(d, load<u32>(xp(mRm))); else store<u64>(d, load<u64>(xp(mRm)));
    } else {
      store<u64>(d, readLin(mLin(), sz)); store<u64>(d, 0, 8);
    }
  } else {
    const s = xp(mReg);
    if (mMod == 3) {
      if (sz == 4) store<u32>(xp(mRm), load<u32>(s)); else store<u64>(xp(mRm), load<u64>(s));
    } else {
      writeLin(mLin(), sz, sz == 4 ? <u64>load<u32>(s) : load<u64>(s));
    }
  }
}

// 0F 12 13 16 17: MOVLPS MOVHLPS MOVLPD MOVHPS MOVLHPS MOVHPD
function movLH(op: u32, pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; } // SSE3 MOVSLDUP / MOVDDUP / MOVSHDUP
  decodeModrm(0);
  const x = xp(mReg);
  const hiHalf: usize = (op == 0x16 || op == 0x17) ? 8 : 0;
  if (op == 0x13 || op == 0x17) {
    if (mMod == 3) { raiseUD(); return; }
    writeLin(mLin(), 8, load<u64>(x + hiHalf));
    return;
  }
  if (mMod == 3) {
    if (pfx == 1) { raiseUD(); return; }
    // MOVHLPS: low <- source high; MOVLHPS: high <- source low
    store<u64>(x + hiHalf, load<u64>(xp(mRm) + (8 - hiHalf)));
    return;
  }
  store<u64>(x + hiHalf, readLin(mLin(), 8));
}

// 0F 28 / 29: MOVAPS MOVAPD
function movAps(op: u32, pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; }
  decodeModrm(0);
  if (op == 0x28) copy16(xp(mReg), srcX(true));
  else if (mMod == 3) copy16(xp(mRm), xp(mReg));
  else store128(mLin(), xp(mReg), true);
}

// 66 0F 6E / 7E, F3 0F 7E: MOVD MOVQ
function movd(op: u32, pfx: i32): void {
  decodeModrm(0);
  const x = xp(mReg);
  const w = (pRex & 8) != 0 ? 8 : 4;
  if (pfx == 1) {
    if (op == 0x6e) {
      const v = mMod == 3 ? getReg(mRm, w) : readLin(mLin(), w);
      store<u64>(x, v); store<u64>(x, 0, 8);
    } else {
      const v = w == 8 ? load<u64>(x) : <u64>load<u32>(x);
      if (mMod == 3) setReg(mRm, w, v); else writeLin(mLin(), w, v);
    }
    return;
  }
  if (pfx == 2 && op == 0x7e) { // MOVQ xmm, xmm/m64
    const v = mMod == 3 ? load<u64>(xp(mRm)) : readLin(mLin(), 8);
    store<u64>(x, v); store<u64>(x, 0, 8);
    return;
  }
  raiseUD();
}

// 66 0F 6F / 7F: MOVDQA, F3: MOVDQU
function movdq(op: u32, pfx: i32): void {
  if (pfx != 1 && pfx != 2) { raiseUD(); return; }
  decodeModrm(0);
  const al = pfx == 1;
  if (op == 0x6f) copy16(xp(mReg), srcX(al));
  else if (mMod == 3) copy16(xp(mRm), xp(mReg));
  else store128(mLin(), xp(mReg), al);
}

// 66 0F D6: MOVQ xmm/m64, xmm
function movqStore(pfx: i32): void {
  if (pfx != 1) { raiseUD(); return; }
  decodeModrm(0);
  const v = load<u64>(xp(mReg));
  if (mMod == 3) { store<u64>(xp(mRm), v); store<u64>(xp(mRm), 0, 8); }
  else writeLin(mLin(), 8, v);
}

// 0F 2B (MOVNTPS / 66: MOVNTPD), 66 0F E7 (MOVNTDQ): aligned stores
function movntStore(pfx: i32, needPfx: i32): void {
  if (needPfx == 0 ? pfx > 1 : pfx != 1) { raiseUD(); return; }
  decodeModrm(0);
  if (mMod == 3) { raiseUD(); return; }
  store128(mLin(), xp(mReg), true);
}

// 0F C3: MOVNTI m32/m64, r
function movnti(): void {
  if (pRep != 0 || p66) { raiseUD(); return; }
  decodeModrm(0);
  if (mMod == 3) { raiseUD(); return; }
  const w = (pRex & 8) != 0 ? 8 : 4;
  writeLin(mLin(), w, getReg(mReg, w));
}

// 0F 50: MOVMSKPS / 66: MOVMSKPD
function movmskp(pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; }
  decodeModrm(0);
  if (mMod != 3) { raiseUD(); return; }
  const s = xp(mRm);
  let m: u64 = 0;
  if (pfx == 1) m = (load<u64>(s) >> 63) | ((load<u64>(s, 8) >> 63) << 1);
  else for (let i = 0; i < 4; i++) m |= <u64>(load<u32>(s + (<usize>i << 2)) >> 31) << <u64>i;
  setReg(mReg, 4, m);
}

// 0F 54-57: ANDPS ANDNPS ORPS XORPS (66: PD)
function logicFp(op: u32, pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; }
  decodeModrm(0);
  logic128(op == 0x54 ? 0 : op == 0x55 ? 1 : op == 0x56 ? 2 : 3);
}
function logic128(kind: i32): void {
  const s = srcX(true);
  const d = xp(mReg);
  for (let i: usize = 0; i < 16; i += 8) {
    const a = load<u64>(d + i); const b = load<u64>(s + i);
    let r: u64;
    if (kind == 0) r = a & b; else if (kind == 1) r = ~a & b; else if (kind == 2) r = a | b; else r = a ^ b;
    store<u64>(d + i, r);
  }
}

// 0F 14 / 15: UNPCKLPS UNPCKHPS (66: PD)
function unpckFp(op: u32, pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; }
  decodeModrm(0);
  const s = srcX(true);
  unpack128(xp(mReg), s, pfx == 1 ? 8 : 4, op == 0x15);
}

// 0F C6 ib: SHUFPS / 66: SHUFPD
function shufp(pfx: i32): void {
  if (pfx > 1) { raiseUD(); return; }
  decodeModrm(1);
  const d = xp(mReg);
  const s = srcX(true);
  const imm = fetch8();
  if (pfx == 1) {
    store<u64>(R, load<u64>(d + ((imm & 1) != 0 ? 8 : 0)));
    store<u64>(R, load<u64>(s + ((imm & 2) != 0 ? 8 : 0)), 8);
  } else {
    store<u32>(R, load<u32>(d + (<usize>(imm & 3) << 2)));
    store<u32>(R, load<u32>(d + (<usize>((imm >> 2) & 3) << 2)), 4);
    store<u32>(R, load<u32>(s + (<usize>((imm >> 4) & 3) << 2)), 8);
    store<u32>(R, load<u32>(s + (<usize>((imm >> 6) & 3) << 2)), 12);
  }
  copy16(d, R);
}

// ---------------------------------------------------------------- packed integer
@inline function sx8(v: u32): i32 { return <i32><i8>v; }
@inline function sx16(v: u32): i32 { return <i32><i16>v; }
@inline function satS8(v: i32): u32 { return <u32>(v < -128 ? -128 : (v > 127 ? 127 : v)) & 0xff; }
@inline function satU8(v: i32): u32 { return <u32>(v < 0 ? 0 : (v > 255 ? 255 : v)); }
@inline function satS16(v: i32): u32 { return <u32>(v < -32768 ? -32768 : (v > 32767 ? 32767 : v)) & 0xffff; }
@inline function satU16(v: i32): u32 { return <u32>(v < 0 ? 0 : (v > 65535 ? 65535 : v)); }

function bOp(op: u32, a: u32, b: u32): u32 {
  switch (op) {
    case 0xfc: return a + b;
    case 0xf8: return a - b;
    case 0x74: return a == b ? 0xff : 0;
    case 0x64: return sx8(a) > sx8(b) ? 0xff : 0;
    case 0xdc: return satU8(<i32>(a + b));
    case 0xd8: return a > b ? a - b : 0;
    case 0xec: return satS8(sx8(a) + sx8(b));
    case 0xe8: return satS8(sx8(a) - sx8(b));
    case 0xda: return a < b ? a : b;
    case 0xde: return a > b ? a : b;
    default: return (a + b + 1) >> 1; // 0xe0 PAVGB
  }
}
function wOp(op: u32, a: u32, b: u32): u32 {
  switch (op) {
    case 0xfd: return a + b;
    case 0xf9: return a - b;
    case 0x75: return a == b ? 0xffff : 0;
    case 0x65: return sx16(a) > sx16(b) ? 0xffff : 0;
    case 0xdd: return satU16(<i32>(a + b));
    case 0xd9: return a > b ? a - b : 0;
    case 0xed: return satS16(sx16(a) + sx16(b));
    case 0xe9: return satS16(sx16(a) - sx16(b));
    case 0xea: return sx16(a) < sx16(b) ? a : b;
    case 0xee: return sx16(a) > sx16(b) ? a : b;
    case 0xe3: return (a + b + 1) >> 1;
    case 0xd5: return a * b;
    case 0xe5: return <u32>((sx16(a) * sx16(b)) >> 16);
    default: return (a * b) >> 16; // 0xe4 PMULHUW
  }
}
function dOp(op: u32, a: u32, b: u32): u32 {
  switch (op) {
    case 0xfe: return a + b;
    case 0xfa: return a - b;
    case 0x76: return a == b ? 0xffffffff : 0;
    default: return <i32>a > <i32>b ? 0xffffffff : 0; // 0x66 PCMPGTD
  }
}

// Interleave the low (or high) halves of d and s with lanes of w bytes into d.
function unpack128(d: usize, s: usize, w: i32, high: bool): void {
  const base: usize = high ? 8 : 0;
  const n = 8 / w;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < w; j++) {
      store<u8>(R + <usize>(2 * i * w + j), load<u8>(d + base + <usize>(i * w + j)));
      store<u8>(R + <usize>((2 * i + 1) * w + j), load<u8>(s + base + <usize>(i * w + j)));
    }
  }
  copy16(d, R);
}

@inline function loadLane(p: usize, w: i32): u64 {
  if (w == 2) return <u64>load<u16>(p);
  if (w == 4) return <u64>load<u32>(p);
  return load<u64>(p);
}
@inline function storeLane(p: usize, w: i32, v: u64): void {
  if (w == 2) store<u16>(p, <u16>v);
  else if (w == 4) store<u32>(p, <u32>v);
  else store<u64>(p, v);
}
// kind: 0 logical right, 1 arithmetic right, 2 left. In place on register d.
function shiftLanes(d: usize, w: i32, kind: i32, cnt: u64): void {
  const bits = <u64>(w << 3);
  for (let i = 0; i < 16; i += w) {
    const p = d + <usize>i;
    const v = loadLane(p, w);
    let r: u64;
    if (kind == 2) r = cnt >= bits ? 0 : v << cnt;
    else if (kind == 0) r = cnt >= bits ? 0 : v >> cnt;
    else {
      const sv = (<i64>(v << (64 - bits))) >> <i64>(64 - bits);
      r = <u64>(sv >> <i64>(cnt >= bits ? bits - 1 : cnt));
    }
    storeLane(p, w, r);
  }
}
function byteShift(d: usize, n: u32, left: bool): void {
  for (let i = 0; i < 16; i++) {
    const j = left ? i - <i32>n : i + <i32>n;
    store<u8>(R + <usize>i, (j >= 0 && j < 16) ? load<u8>(d + <usize>j) : 0);
  }
  copy16(d, R);
}

function isPackedInt(op: u32): bool {
  if (op >= 0x60 && op <= 0x6d) return true;
  if (op >= 0x74 && op <= 0x76) return true;
  if (op >= 0xd1 && op <= 0xfe) {
    return op != 0xd6 && op != 0xd7 && op != 0xe6 && op != 0xe7 && op != 0xf0 && op != 0xf7;
  }
  return false;
}

// 66 0F xx with an xmm/m128 source (aligned).
function packedInt(op: u32): void {
  decodeModrm(0);
  const d = xp(mReg);
  const s = srcX(true);
  switch (op) {
    case 0xdb: case 0xdf: case 0xeb: case 0xef: {
      for (let i: usize = 0; i < 16; i += 8) {
        const a = load<u64>(d + i); const b = load<u64>(s + i);
        store<u64>(d + i, op == 0xdb ? a & b : op == 0xdf ? ~a & b : op == 0xeb ? a | b : a ^ b);
      }
      return;
    }
    case 0xfc: case 0xf8: case 0x74: case 0x64: case 0xdc: case 0xd8: case 0xec: case 0xe8:
    case 0xda: case 0xde: case 0xe0:
      for (let i: usize = 0; i < 16; i++) store<u8>(R + i, <u8>bOp(op, load<u8>(d + i), load<u8>(s + i)));
      break;
    case 0xfd: case 0xf9: case 0x75: case 0x65: case 0xdd: case 0xd9: case 0xed: case 0xe9:
    case 0xea: case 0xee: case 0xe3: case 0xd5: case 0xe5: case 0xe4:
      for (let i: usize = 0; i < 16; i += 2) store<u16>(R + i, <u16>wOp(op, load<u16>(d + i), load<u16>(s + i)));
      break;
    case 0xfe: case 0xfa: case 0x76: case 0x66:
      for (let i: usize = 0; i < 16; i += 4) store<u32>(R + i, dOp(op, load<u32>(d + i), load<u32>(s + i)));
      break;
    case 0xd4: case 0xfb:
      for (let i: usize = 0; i < 16; i += 8) {
        const a = load<u64>(d + i); const b = load<u64>(s + i);
        store<u64>(R + i, op == 0xd4 ? a + b : a - b);
      }
      break;
    case 0x60: unpack128(d, s, 1, false); return;
    case 0x61: unpack128(d, s, 2, false); return;
    case 0x62: unpack128(d, s, 4, false); return;
    case 0x6c: unpack128(d, s, 8, false); return;
    case 0x68: unpack128(d, s, 1, true); return;
    case 0x69: unpack128(d, s, 2, true); return;
    case 0x6a: unpack128(d, s, 4, true); return;
    case 0x6d: unpack128(d, s, 8, true); return;
    case 0x63: case 0x67:
      for (let i: usize = 0; i < 8; i++) {
        const a = sx16(load<u16>(d + 2 * i)); const b = sx16(load<u16>(s + 2 * i));
        store<u8>(R + i, <u8>(op == 0x63 ? satS8(a) : satU8(a)));
        store<u8>(R + 8 + i, <u8>(op == 0x63 ? satS8(b) : satU8(b)));
      }
      break;
    case 0x6b:
      for (let i: usize = 0; i < 4; i++) {
        store<u16>(R + 2 * i, <u16>satS16(load<i32>(d + 4 * i)));
        store<u16>(R + 8 + 2 * i, <u16>satS16(load<i32>(s + 4 * i)));
      }
      break;
    case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2: case 0xf1: case 0xf2: case 0xf3: {
      const cnt = load<u64>(s);
      const w = (op & 3) == 1 ? 2 : ((op & 3) == 2 ? 4 : 8);
      const kind = op >= 0xf1 ? 2 : (op >= 0xe1 ? 1 : 0);
      shiftLanes(d, w, kind, cnt);
      return;
    }
    case 0xf4: // PMULUDQ
      store<u64>(R, <u64>load<u32>(d) * <u64>load<u32>(s));
      store<u64>(R, <u64>load<u32>(d, 8) * <u64>load<u32>(s, 8), 8);
      break;
    case 0xf5: // PMADDWD
      for (let i: usize = 0; i < 16; i += 4) {
        const r = sx16(load<u16>(d + i)) * sx16(load<u16>(s + i)) + sx16(load<u16>(d + i + 2)) * sx16(load<u16>(s + i + 2));
        store<i32>(R + i, r);
      }
      break;
    case 0xf6: // PSADBW
      for (let q: usize = 0; q < 16; q += 8) {
        let sum: u64 = 0;
        for (let i: usize = 0; i < 8; i++) {
          const a = <i32>load<u8>(d + q + i); const b = <i32>load<u8>(s + q + i);
          sum += <u64>(a > b ? a - b : b - a);
        }
        store<u64>(R + q, sum);
      }
      break;
    default: raiseUD(); return;
  }
  copy16(d, R);
}

// 66 0F 70 ib: PSHUFD, F2: PSHUFLW, F3: PSHUFHW
function pshuf(pfx: i32): void {
  if (pfx == 0) { raiseUD(); return; } // PSHUFW (MMX)
  decodeModrm(1);
  const d = xp(mReg);
  const s = srcX(true);
  const imm = fetch8();
  if (pfx == 1) {
    for (let i: u32 = 0; i < 4; i++) store<u32>(R + (<usize>i << 2), load<u32>(s + (<usize>((imm >> (2 * i)) & 3) << 2)));
  } else {
    const base: usize = pfx == 3 ? 0 : 8; // shuffled half
    copy16(R, s);
    for (let i: u32 = 0; i < 4; i++) {
      store<u16>(R + base + (<usize>i << 1), load<u16>(s + base + (<usize>((imm >> (2 * i)) & 3) << 1)));
    }
  }
  copy16(d, R);
}

// 66 0F 71 / 72 / 73 ib: shifts by immediate
function shiftImm(op: u32, pfx: i32): void {
  if (pfx != 1) { raiseUD(); return; }
  decodeModrm(1);
  if (mMod != 3) { raiseUD(); return; }
  const imm = fetch8();
  const d = xp(mRm);
  const sub = mReg & 7;
  if (op == 0x73) {
    if (sub == 3) { byteShift(d, imm > 15 ? 16 : imm, false); return; }
    if (sub == 7) { byteShift(d, imm > 15 ? 16 : imm, true); return; }
    if (sub == 2) { shiftLanes(d, 8, 0, <u64>imm); return; }
    if (sub == 6) { shiftLanes(d, 8, 2, <u64>imm); return; }
    raiseUD(); return;
  }
  const w = op == 0x71 ? 2 : 4;
  if (sub == 2) shiftLanes(d, w, 0, <u64>imm);
  else if (sub == 4) shiftLanes(d, w, 1, <u64>imm);
  else if (sub == 6) shiftLanes(d, w, 2, <u64>imm);
  else raiseUD();
}

// 66 0F C4 ib: PINSRW xmm, r32/m16
function pinsrw(pfx: i32): void {
  if (pfx != 1) { raiseUD(); return; }
  decodeModrm(1);
  const imm = fetch8();
  const v = mMod == 3 ? getReg(mRm, 4) : readLin(mLin(), 2);
  store<u16>(xp(mReg) + (<usize>(imm & 7) << 1), <u16>v);
}

// 66 0F C5 ib: PEXTRW r32, xmm
function pextrw(pfx: i32): void {
  if (pfx != 1) { raiseUD(); return; }
  decodeModrm(1);
  if (mMod != 3) { raiseUD(); return; }
  const imm = fetch8();
  setReg(mReg, 4, <u64>load<u16>(xp(mRm) + (<usize>(imm & 7) << 1)));
}

// 66 0F D7: PMOVMSKB r32, xmm
function pmovmskb(pfx: i32): void {
  if (pfx != 1) { raiseUD(); return; }
  decodeModrm(0);
  if (mMod != 3) { raiseUD(); return; }
  const s = xp(mRm);
  let m: u64 = 0;
  for (let i = 0; i < 16; i++) m |= <u64>(load<u8>(s + <usize>i) >> 7) << <u64>i;
  setReg(mReg, 4, m);
}

// 66 0F F7: MASKMOVDQU xmm1, xmm2 -> byte-masked store to DS:rDI
function maskmovdqu(pfx: i32): void {
  if (pfx != 1) { raiseUD(); return; }
  decodeModrm(0);
  if (mMod != 3) { raiseUD(); return; }
  const data = xp(mReg); const mask = xp(mRm);
  let ea = reg64(7);
  if (pAd == 4) ea &= 0xffffffff; else if (pAd == 2) ea &= 0xffff;
  const seg = pSeg >= 0 ? pSeg : DS;
  let first = -1; let last = -1;
  for (let i = 0; i < 16; i++) {
    if ((load<u8>(mask + <usize>i) & 0x80) != 0) { if (first < 0) first = i; last = i; }
  }
  if (first < 0) return;
  probeWrite(linOf(seg, ea + <u64>first));
  probeWrite(linOf(seg, ea + <u64>last));
  for (let i = first; i <= last; i++) {
    if ((load<u8>(mask + <usize>i) & 0x80) != 0) writeLin(linOf(seg, ea + <u64>i), 1, <u64>load<u8>(data + <usize>i));
  }
}

// ---------------------------------------------------------------- dispatcher
export function execSse(op: u32): void {
  if (pLock) { raiseUD(); return; }
  if (op == 0xc3) { movnti(); return; }
  sseAvail();
  // mandatory prefix: 0 none, 1 66, 2 F3, 3 F2 (F2/F3 take precedence over 66)
  const pfx = pRep == 0xf3 ? 2 : (pRep == 0xf2 ? 3 : (p66 ? 1 : 0));
  switch (op) {
    case 0x10: case 0x11: movUps(op, pfx); return;
    case 0x12: case 0x13: case 0x16: case 0x17: movLH(op, pfx); return;
    case 0x14: case 0x15: unpckFp(op, pfx); return;
    case 0x28: case 0x29: movAps(op, pfx); return;
    case 0x2a: cvtsi2(pfx); return;
    case 0x2b: movntStore(pfx, 0); return;
    case 0x2c: case 0x2d: cvt2si(op, pfx); return;
    case 0x2e: case 0x2f: comis(op, pfx); return;
    case 0x50: movmskp(pfx); return;
    case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f: fpArith(op, pfx); return;
    case 0x52: case 0x53: rcpInsn(op, pfx); return;
    case 0x54: case 0x55: case 0x56: case 0x57: logicFp(op, pfx); return;
    case 0x5a: cvt5a(pfx); return;
    case 0x5b: cvt5b(pfx); return;
    case 0x6e: case 0x7e: movd(op, pfx); return;
    case 0x6f: case 0x7f: movdq(op, pfx); return;
    case 0x70: pshuf(pfx); return;
    case 0x71: case 0x72: case 0x73: shiftImm(op, pfx); return;
    case 0xc2: cmpInsn(pfx); return;
    case 0xc4: pinsrw(pfx); return;
    case 0xc5: pextrw(pfx); return;
    case 0xc6: shufp(pfx); return;
    case 0xd6: movqStore(pfx); return;
    case 0xd7: pmovmskb(pfx); return;
    case 0xe6: cvtE6(pfx); return;
    case 0xe7: movntStore(pfx, 1); return;
    case 0xf7: maskmovdqu(pfx); return;
    default: break;
  }
  if (pfx == 1 && isPackedInt(op)) { packedInt(op); return; }
  raiseUD();
}

// FXSAVE / FXRSTOR: 512-byte image (SDM vol. 1 s10.5.1); only the SSE part is live.
export function fxsave(lin: u64): void {
  if ((cr0 & 0xc) != 0) { raise(7, 0, false); return; } // CR0.TS or CR0.EM: #NM
  if ((lin & 15) != 0) { raiseGP(0); return; }
  for (let i: u64 = 0; i < 512; i += 8) writeLin(lin + i, 8, 0);
  writeLin(lin + 24, 4, <u64>mxcsr);
  writeLin(lin + 28, 4, 0xffff);
  for (let r: u64 = 0; r < 16; r++) {
    writeLin(lin + 160 + r * 16, 8, load<u64>(XMM + <usize>(r * 16)));
    writeLin(lin + 168 + r * 16, 8, load<u64>(XMM + <usize>(r * 16 + 8)));
  }
}
export function fxrstor(lin: u64): void {
  if ((cr0 & 0xc) != 0) { raise(7, 0, false); return; }
  if ((lin & 15) != 0) { raiseGP(0); return; }
  const m = <u32>readLin(lin + 24, 4);
  if ((m & 0xffff0000) != 0) { raiseGP(0); return; }
  for (let r: u64 = 0; r < 16; r++) {
    store<u64>(XMM + <usize>(r * 16), readLin(lin + 160 + r * 16, 8));
    store<u64>(XMM + <usize>(r * 16 + 8), readLin(lin + 168 + r * 16, 8));
  }
  mxcsr = m;
}
export function ldmxcsr(lin: u64): void {
  sseAvail();
  const m = <u32>readLin(lin, 4);
  if ((m & 0xffff0000) != 0) { raiseGP(0); return; }
  mxcsr = m;
}
export function stmxcsr(lin: u64): void { sseAvail(); writeLin(lin, 4, <u64>mxcsr); }
