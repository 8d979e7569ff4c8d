// Linear -> guest-physical (guest paging) -> host-physical (EPT) translation, the TLB
// that caches the composition, and linear-memory access for the interpreter.
import {
  TLB, TLB_ENTRIES, POOL, MMIO_WIN, cr0, cr3, cr4, efer, cr2, eptp, ramBytes, userShift,
  abortKind, ABORT_EXCEPTION, ABORT_EPT, excVector, excError, excHasError, exitGpa, exitQual, exitLin,
} from './state';
import { mmioRead, mmioWrite } from './imports';
import { isCodePage, codeWrite } from './codecache';

export const ACC_R = 0; export const ACC_W = 1; export const ACC_X = 2;
// TLB permission bits: (1 << acc) for supervisor, (1 << (acc + 3)) for user.
const P_ALL: u32 = 0x3f;
const P_GLOBAL: u32 = 0x40;
// Write permission withheld because the page holds decoded code (supervisor 0x80, user 0x400):
// the write takes the slow path, which checks it against the decoded bytes (codecache.ts).
const P_W: u32 = 2 | 16;
const CODEW_SHIFT: u32 = 6;
export const P_CODEW: u32 = 0x80;
const NO_TAG: u64 = 0xffffffffffffffff;

const CR0_WP: u64 = 1 << 16; const CR0_PG: u64 = 1 << 31;
const CR4_PSE: u64 = 1 << 4; const CR4_PAE: u64 = 1 << 5; const CR4_PGE: u64 = 1 << 7;
const EFER_LMA: u64 = 1 << 10; const EFER_NXE: u64 = 1 << 11;
const ADDR_MASK: u64 = 0x000ffffffffff000;

// Supervisor-forced accesses (descriptor tables, TSS, IDT) set this to 0 around the access.
export let accShift: u32 = 0;
// Guest-physical address of the last translation that hit MMIO (translate returned 0).
export let mmioGpa: u64 = 0;
// Bumped on every flush; the interpreter's fetch cache compares against it.
export let tlbEpoch: u32 = 0;
// Segment of the access being translated: a non-canonical SS-relative address is #SS, not #GP.
export let accSeg: i32 = 3;

export function syncAccShift(): void { accShift = userShift; }

export function raise(vector: i32, error: i32, hasError: bool): void {
  excVector = vector; excError = error; excHasError = hasError;
  abortKind = ABORT_EXCEPTION;
  unreachable();
}
export function raiseGP(error: i32): void { raise(13, error, true); }
export function raiseUD(): void { raise(6, 0, false); }

export function tlbFlushAll(): void {
  for (let i = 0; i < TLB_ENTRIES; i++) store<u64>(TLB + (<usize>i << 4), NO_TAG);
  tlbEpoch++;
}
// CR3 reload: global pages survive (SDM vol. 3 s4.10.4.1).
export function tlbFlushNonGlobal(): void {
  for (let i = 0; i < TLB_ENTRIES; i++) {
    const e = TLB + (<usize>i << 4);
    if ((load<u32>(e, 8) & P_GLOBAL) == 0) store<u64>(e, NO_TAG);
  }
  tlbEpoch++;
}
export function tlbFlushPage(lin: u64): void {
  const e = TLB + ((<usize>(lin >> 12) & <usize>(TLB_ENTRIES - 1)) << 4);
  if (load<u64>(e) == (lin >> 12)) store<u64>(e, NO_TAG);
  tlbEpoch++;
}

@inline export function tlbLookup(lin: u64, need: u32): usize {
  const e = TLB + ((<usize>(lin >> 12) & <usize>(TLB_ENTRIES - 1)) << 4);
  if (load<u64>(e) == (lin >> 12) && (load<u32>(e, 8) & need) != 0) return <usize>load<u32>(e, 12);
  return 0;
}

function isMmioWindow(gpa: u64): bool {
  for (let i = 0; i < 8; i++) {
    const s = load<u64>(MMIO_WIN + (<usize>i << 4));
    const e = load<u64>(MMIO_WIN + (<usize>i << 4), 8);
    if (gpa >= s && gpa < e) return true;
  }
  return false;
}

// Guest-physical -> host memory offset of the 4 KiB page (POOL + hpa page), or 0 for MMIO.
// EPT per Intel SDM vol. 3 s29.3 (4-level, 2 MiB / 1 GiB leaves, A/D flags when EPTP[6]).
export function gpaToHost(gpa: u64, acc: i32, lin: u64, linValid: bool, finalAccess: bool): usize {
  if (isMmioWindow(gpa)) { mmioGpa = gpa; return 0; }
  if (eptp == 0) {
    if (gpa < ramBytes) return POOL + <usize>(gpa & ~0xfff);
    mmioGpa = gpa; return 0;
  }
  const ad = (eptp & 0x40) != 0;
  let table = eptp & ADDR_MASK;
  let allow: u64 = 7;
  for (let level = 4; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const ea = POOL + <usize>(table + (((gpa >> <u64>shift) & 511) << 3));
    let e = load<u64>(ea);
    allow &= e & 7;
    if ((e & 7) == 0) { eptViolation(gpa, acc, 0, lin, linValid, finalAccess); return 0; }
    const leaf = level == 1 || ((level == 2 || level == 3) && (e & 0x80) != 0);
    if (ad) {
      let ne = e | 0x100;
      if (leaf && acc == ACC_W) ne |= 0x200;
      if (ne != e && (allow & (<u64>1 << <u64>acc)) != 0) { store<u64>(ea, ne); e = ne; }
    }
    if (leaf) {
      if ((allow & (<u64>1 << <u64>acc)) == 0) { eptViolation(gpa, acc, allow, lin, linValid, finalAccess); return 0; }
      const pageMask: u64 = (<u64>1 << <u64>shift) - 1;
      const hpa = (e & ADDR_MASK & ~pageMask) | (gpa & pageMask);
      return POOL + <usize>(hpa & ~0xfff);
    }
    table = e & ADDR_MASK;
  }
  return 0;
}

// Exit qualification per SDM vol. 3 table 28-7 (bits 0-2 access, 3-5 permissions, 7-8 linear info).
function eptViolation(gpa: u64, acc: i32, allow: u64, lin: u64, linValid: bool, finalAccess: bool): void {
  let q: u64 = <u64>1 << <u64>acc;
  q |= allow << 3;
  if (linValid) { q |= 0x80; if (finalAccess) q |= 0x100; }
  exitGpa = gpa; exitQual = q; exitLin = lin;
  abortKind = ABORT_EPT;
  unreachable();
}

// Guest page-table entries are read/written through EPT like any other guest-physical access.
function ptRead(gpa: u64, lin: u64): u64 {
  const h = gpaToHost(gpa, ACC_R, lin, true, false);
  if (h == 0) return 0; // page tables in MMIO: read as not-present
  return load<u64>(h + <usize>(gpa & 0xfff));
}
function ptRead32(gpa: u64, lin: u64): u32 {
  const h = gpaToHost(gpa, ACC_R, lin, true, false);
  if (h == 0) return 0;
  return load<u32>(h + <usize>(gpa & 0xfff));
}
function ptSetBits(gpa: u64, bits: u64, lin: u64, wide: bool): void {
  const h = gpaToHost(gpa, ACC_W, lin, true, false);
  if (h == 0) return;
  const p = h + <usize>(gpa & 0xfff);
  codeWrite(h, <u32>(gpa & 0xfff), wide ? 8 : 4);
  if (wide) store<u64>(p, load<u64>(p) | bits); else store<u32>(p, load<u32>(p) | <u32>bits);
}

function pageFault(lin: u64, acc: i32, present: bool, user: bool, rsvd: bool): void {
  let err = 0;
  if (present) err |= 1;
  if (acc == ACC_W) err |= 2;
  if (user) err |= 4;
  if (rsvd) err |= 8;
  if (acc == ACC_X && (efer & EFER_NXE) != 0) err |= 16;
  cr2 = lin;
  raise(14, err, true);
}

@inline function canonical(lin: u64): bool {
  return <u64>((<i64>(lin << 16)) >> 16) == lin;
}

// Full translation of a linear address; fills the TLB. Returns the host offset of the page,
// or 0 when the address is MMIO (mmioGpa holds the guest-physical address).
export function translate(lin: u64, acc: i32): usize {
  const user = accShift == 3;
  const lma = (efer & EFER_LMA) != 0;
  if (lma && !canonical(lin)) { raise(accSeg == 2 ? 12 : 13, 0, true); return 0; }
  let gpa: u64; let perm: u32;
  if ((cr0 & CR0_PG) == 0) {
    gpa = lin & 0xffffffff;
    perm = P_ALL;
  } else {
    let rw = true; let us = true; let nx = false; let dirty = false; let global = false;
    const nxe = (efer & EFER_NXE) != 0;
    let pteAddr: u64 = 0; let pte: u64 = 0; let wide = true;
    let pageMask: u64 = 0xfff;
    if (lma || (cr4 & CR4_PAE) != 0) {
      let levels = lma ? 4 : 3;
      let table: u64 = lma ? (cr3 & ADDR_MASK) : (cr3 & 0xffffffe0);
      for (let level = levels; level >= 1; level--) {
        const shift = 12 + 9 * (level - 1);
        let idx: u64 = (lin >> <u64>shift) & 511;
        if (!lma && level == 3) idx = (lin >> 30) & 3;
        pteAddr = table + (idx << 3);
        pte = ptRead(pteAddr, lin);
        if ((pte & 1) == 0) { pageFault(lin, acc, false, user, false); return 0; }
        if ((pte >> 63) != 0 && !nxe) { pageFault(lin, acc, true, user, true); return 0; }
        if (!lma && level == 3) {
          // PAE PDPTEs carry no permission bits (SDM vol. 3 s4.4.1).
          table = pte & ADDR_MASK; continue;
        }
        if ((pte & 2) == 0) rw = false;
        if ((pte & 4) == 0) us = false;
        if (nxe && (pte >> 63) != 0) nx = true;
        const large = (level == 2 || (level == 3 && lma)) && (pte & 0x80) != 0;
        if (level == 4 && (pte & 0x80) != 0) { pageFault(lin, acc, true, user, true); return 0; }
        if (large || level == 1) {
          pageMask = (<u64>1 << <u64>shift) - 1;
          break;
        }
        if ((pte & 0x20) == 0) ptSetBits(pteAddr, 0x20, lin, true);
        table = pte & ADDR_MASK;
      }
    } else {
      // 32-bit paging (SDM vol. 3 s4.3): 2 levels, 4 MiB pages with CR4.PSE.
      wide = false;
      const pdeAddr: u64 = (cr3 & 0xfffff000) + (((lin >> 22) & 1023) << 2);
      const pde: u64 = ptRead32(pdeAddr, lin);
      if ((pde & 1) == 0) { pageFault(lin, acc, false, user, false); return 0; }
      if ((pde & 2) == 0) rw = false;
      if ((pde & 4) == 0) us = false;
      if ((pde & 0x80) != 0 && (cr4 & CR4_PSE) != 0) {
        pteAddr = pdeAddr; pte = pde; pageMask = 0x3fffff;
        // PSE-36: bits 13-20 of the PDE hold physical address bits 32-39.
        pte = (pde & 0xffc00000) | ((pde & 0x1fe000) << 19) | (pde & 0xfff);
      } else {
        if ((pde & 0x20) == 0) ptSetBits(pdeAddr, 0x20, lin, false);
        pteAddr = (pde & 0xfffff000) + (((lin >> 12) & 1023) << 2);
        pte = ptRead32(pteAddr, lin);
        if ((pte & 1) == 0) { pageFault(lin, acc, false, user, false); return 0; }
        if ((pte & 2) == 0) rw = false;
        if ((pte & 4) == 0) us = false;
      }
    }
    // Permission check (SDM vol. 3 s4.6).
    const wp = (cr0 & CR0_WP) != 0;
    if (user && !us) { pageFault(lin, acc, true, user, false); return 0; }
    if (acc == ACC_W && !rw && (user || wp)) { pageFault(lin, acc, true, user, false); return 0; }
    if (acc == ACC_X && nx) { pageFault(lin, acc, true, user, false); return 0; }
    // Accessed and dirty flags on the leaf.
    let set: u64 = 0;
    if ((pte & 0x20) == 0) set |= 0x20;
    if (acc == ACC_W && (pte & 0x40) == 0) set |= 0x40;
    if (set != 0) ptSetBits(pteAddr, set, lin, wide);
    dirty = acc == ACC_W || (pte & 0x40) != 0;
    global = (pte & 0x100) != 0 && (cr4 & CR4_PGE) != 0;
    let base: u64 = wide ? (pte & ADDR_MASK) : (pte & 0xfffff000);
    if (!wide && pageMask == 0x3fffff) base = pte & 0xffffc00000;
    gpa = (base & ~pageMask) | (lin & pageMask);
    // Writes are cached only once the dirty flag is set, so the first write always walks.
    perm = 1 | 4; // supervisor read/exec
    if (dirty && (rw || !wp)) perm |= 2;
    if (nx) perm &= ~4;
    if (us) {
      perm |= 8 | 32;
      if (nx) perm &= ~32;
      if (dirty && rw) perm |= 16;
    }
    if (global) perm |= P_GLOBAL;
  }
  const host = gpaToHost(gpa, acc, lin, true, true);
  if (host == 0) return 0;
  // A page that EPT maps read-only must not be cached writable; the next write re-walks
  // and raises the EPT violation (KSM write protection, SDM s29.3.3).
  if (acc != ACC_W && (perm & (2 | 16)) != 0 && eptp != 0 && !eptWritable(gpa)) perm &= ~(2 | 16);
  if ((perm & P_W) != 0 && isCodePage(host)) perm = (perm & ~P_W) | ((perm & P_W) << CODEW_SHIFT);
  const e = TLB + ((<usize>(lin >> 12) & <usize>(TLB_ENTRIES - 1)) << 4);
  store<u64>(e, lin >> 12);
  store<u32>(e, perm, 8);
  store<u32>(e, <u32>host, 12);
  return host;
}

// Does EPT currently allow writes to gpa? (walk without side effects)
function eptWritable(gpa: u64): bool {
  let table = eptp & ADDR_MASK;
  let allow: u64 = 7;
  for (let level = 4; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const e = load<u64>(POOL + <usize>(table + (((gpa >> <u64>shift) & 511) << 3)));
    allow &= e & 7;
    if ((e & 7) == 0) return false;
    if (level == 1 || (e & 0x80) != 0) return (allow & 2) != 0;
    table = e & ADDR_MASK;
  }
  return false;
}

// A page-crossing access must be canonical as a whole (SDM vol. 3 s3.3.7.1): check its last
// byte before touching the first page.
function checkEnd(lin: u64, size: i32): void {
  const end = lin + <u64>size - 1;
  if ((efer & (<u64>1 << 10)) != 0 && !canonical(end)) raise(accSeg == 2 ? 12 : 13, 0, true);
}

@inline function loadN(p: usize, size: i32): u64 {
  if (size == 4) return <u64>load<u32>(p);
  if (size == 8) return load<u64>(p);
  if (size == 1) return <u64>load<u8>(p);
  return <u64>load<u16>(p);
}
@inline function storeN(p: usize, size: i32, v: u64): void {
  if (size == 4) store<u32>(p, <u32>v);
  else if (size == 8) store<u64>(p, v);
  else if (size == 1) store<u8>(p, <u8>v);
  else store<u16>(p, <u16>v);
}

// ---- linear memory access (lin already includes the segment base) ----
export function readLin(lin: u64, size: i32): u64 {
  const off = <usize>lin & 0xfff;
  if (off + <usize>size <= 4096) {
    let h = tlbLookup(lin, <u32>1 << accShift);
    if (h == 0) {
      h = translate(lin, ACC_R);
      if (h == 0) return mmioRead(mmioGpa, size);
    }
    return loadN(h + off, size);
  }
  checkEnd(lin, size);
  let v: u64 = 0;
  for (let i = 0; i < size; i++) v |= readLin(lin + <u64>i, 1) << (<u64>i << 3);
  return v;
}

export function writeLin(lin: u64, size: i32, v: u64): void {
  const off = <usize>lin & 0xfff;
  if (off + <usize>size <= 4096) {
    const h = writeHost(lin, size);
    if (h == 0) { mmioWrite(mmioGpa, size, v); return; }
    storeN(h + off, size, v);
    return;
  }
  // Page-crossing: check both pages before writing anything, so a fault leaves memory intact.
  checkEnd(lin, size);
  probeWrite(lin);
  probeWrite(lin + <u64>size - 1);
  for (let i = 0; i < size; i++) writeLin(lin + <u64>i, 1, v >> (<u64>i << 3));
}

// Host page for a write of `size` bytes at lin (within one page), or 0 for MMIO. Faults like
// the write would; a write over decoded code invalidates it first.
export function writeHost(lin: u64, size: i32): usize {
  const e = TLB + ((<usize>(lin >> 12) & <usize>(TLB_ENTRIES - 1)) << 4);
  if (load<u64>(e) == (lin >> 12)) {
    const perm = load<u32>(e, 8);
    if ((perm & (<u32>2 << accShift)) != 0) return <usize>load<u32>(e, 12);
    if ((perm & (P_CODEW << accShift)) != 0) {
      const h = <usize>load<u32>(e, 12);
      codeWriteTlb(e, h, <u32>lin & 0xfff, size);
      return h;
    }
  }
  const h = translate(lin, ACC_W);
  if (h != 0) codeWriteTlb(e, h, <u32>lin & 0xfff, size);
  return h;
}

// Checks a write against decoded code; once the page holds none, the TLB entry gets its
// write permission back.
function codeWriteTlb(e: usize, h: usize, off: u32, size: i32): void {
  codeWrite(h, off, <u32>size);
  const perm = load<u32>(e, 8);
  const cw = perm & (P_W << CODEW_SHIFT);
  if (cw != 0 && !isCodePage(h)) store<u32>(e, (perm & ~cw) | (cw >> CODEW_SHIFT), 8);
}

export function probeWrite(lin: u64): void {
  const e = TLB + ((<usize>(lin >> 12) & <usize>(TLB_ENTRIES - 1)) << 4);
  if (load<u64>(e) == (lin >> 12) && (load<u32>(e, 8) & ((<u32>2 | P_CODEW) << accShift)) != 0) return;
  translate(lin, ACC_W);
}
export function probeRead(lin: u64): void {
  if (tlbLookup(lin, <u32>1 << accShift) == 0) translate(lin, ACC_R);
}

// Read-modify-write: translate once with write intent, remember where to write back.
let rmwHost: usize = 0;
let rmwLinAddr: u64 = 0;
export function readLinRmw(lin: u64, size: i32): u64 {
  const off = <usize>lin & 0xfff;
  rmwLinAddr = lin;
  if (off + <usize>size <= 4096) {
    const h = writeHost(lin, size);
    if (h != 0) { rmwHost = h + off; return loadN(rmwHost, size); }
  } else {
    checkEnd(lin, size);
    probeWrite(lin);
    probeWrite(lin + <u64>size - 1);
  }
  rmwHost = 0;
  return readLin(lin, size);
}
export function writeLinRmw(size: i32, v: u64): void {
  if (rmwHost != 0) storeN(rmwHost, size, v);
  else writeLin(rmwLinAddr, size, v);
}

// Code fetch translation: host offset of the page containing lin (exec permission).
export function translateCode(lin: u64): usize {
  accSeg = 1;
  let h = tlbLookup(lin, <u32>4 << accShift);
  if (h == 0) h = translate(lin, ACC_X);
  if (h == 0) {
    // Executing from MMIO is not supported: treat as #PF-like hard failure via #GP.
    raiseGP(0);
  }
  return h;
}

// Physical reads for the wrapper (loading kernels, debugging): gpa through EPT without faults.
export function gpaHostOrZero(gpa: u64): usize {
  if (eptp == 0) return gpa < ramBytes ? POOL + <usize>(gpa & ~0xfff) : 0;
  let table = eptp & ADDR_MASK;
  for (let level = 4; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const e = load<u64>(POOL + <usize>(table + (((gpa >> <u64>shift) & 511) << 3)));
    if ((e & 7) == 0) return 0;
    if (level == 1 || (e & 0x80) != 0) {
      const pageMask: u64 = (<u64>1 << <u64>shift) - 1;
      return POOL + <usize>(((e & ADDR_MASK & ~pageMask) | (gpa & pageMask)) & ~0xfff);
    }
    table = e & ADDR_MASK;
  }
  return 0;
}
