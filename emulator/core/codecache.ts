// Decoded-block cache: blocks of pre-decoded instructions keyed by the host address of their
// first byte (host-physical, so every linear alias and every address space shares them), plus a
// directory of the host pages holding decoded code, used to catch writes to them.
//
// Self-modifying code: the TLB never caches write permission for a page in the directory (the
// W bits move to the CODEW bits, see mem.ts), so every write to such a page takes the slow path,
// which calls codeWrite(): a write that overlaps a 64-byte chunk holding decoded bytes
// invalidates all blocks of the page and sets codeDirty, which makes the block engine stop after
// the current instruction.
//
// Blocks live in a bump-allocated arena; when it (or the directory) is full everything is
// flushed. Invalidated blocks stay in the arena (marked invalid) until the next flush, so a
// pointer to one is never dangling while a block runs.
import { BHASH, PAGEDIR, ARENA, ARENA_END, TLB, TLB_ENTRIES, codeDirty } from './state';

// ---- block header ----
export const B_KEY = 0;    // u32 host address of the first instruction byte
export const B_NEXT = 4;   // u32 next block of the same page (invalidation list)
export const B_VALID = 8;  // u8 1 while the block may run
export const B_NINS = 9;   // u8 instructions in the block (all of them retire when it runs through)
export const B_LEN = 10;   // u16 bytes of x86 code
export const HDR: usize = 16;

// ---- records: 16 bytes (32 for the ones listed by recSize) ----
// +0 u8 handler  +1 u8 length  +2 u8 r  +3 u8 b  +4 u8 x  +5 u8 fl  +6 u8 seg  +7 u8 aux
// +8 i32 disp  +12 i32 imm  (+16.. terminators: u32 chain slots at +16/+20, u32 count at +24)
// r: register number (G operand / destination), or a byte offset into the register file for
//    8-bit registers (AH..BH are offsets 1, 9, 17, 25). b: base or E register (16 = always 0,
//    17 = block RIP for RIP-relative). x: index register (16 when none).
// fl: bits 0-1 scale, 2 add the segment base, 3 32-bit address wrap, 4 flags result unused.
export const FL_SEGBASE: u32 = 4;
export const FL_A32: u32 = 8;
export const FL_DEAD: u32 = 16;

export const H_STOP = 0;      // ends block execution (zeroed memory dispatches here too)
export const H_FB = 1;        // run one instruction with the interpreter, then continue
export const H_NOP = 2;
export const H_MOV_RR32 = 3; export const H_MOV_RR64 = 4;
export const H_MOV_RI32 = 5; export const H_MOV_RI64S = 6;
export const H_MOV_RM32 = 7; export const H_MOV_RM64 = 8;
export const H_MOV_MR32 = 9; export const H_MOV_MR64 = 10;
export const H_MOV_MI32 = 11; export const H_MOV_MI64 = 12;
export const H_LEA32 = 13; export const H_LEA64 = 14;
export const H_INC32 = 15; export const H_INC64 = 16;
export const H_DEC32 = 17; export const H_DEC64 = 18;
export const H_NEG32 = 19; export const H_NEG64 = 20;
export const H_NOT32 = 21; export const H_NOT64 = 22;
export const H_SHL32 = 23; export const H_SHL64 = 24; // by an immediate (imm, non-zero)
export const H_SHR32 = 25; export const H_SHR64 = 26;
export const H_SAR32 = 27; export const H_SAR64 = 28;
export const H_SHC32 = 29; export const H_SHC64 = 30; // by CL (aux = flags kind)
export const H_MOVZX_R8 = 31; export const H_MOVZX_R16 = 32;
export const H_MOVZX_M8 = 33; export const H_MOVZX_M16 = 34;
export const H_MOVSX_R8 = 35; export const H_MOVSX_R16 = 36;
export const H_MOVSX_M8 = 37; export const H_MOVSX_M16 = 38;
export const H_MOVSXD_R = 39; export const H_MOVSXD_M = 40;
export const H_IMUL_RR32 = 41; export const H_IMUL_RR64 = 42;
export const H_IMUL_RM32 = 43; export const H_IMUL_RM64 = 44;
export const H_IMUL_RRI32 = 45; export const H_IMUL_RRI64 = 46;
export const H_IMUL_RMI32 = 47; export const H_IMUL_RMI64 = 48;
export const H_SETCC_R = 49; export const H_SETCC_M = 50;
export const H_CMOV_RR32 = 51; export const H_CMOV_RR64 = 52;
export const H_CMOV_RM32 = 53; export const H_CMOV_RM64 = 54;
export const H_XCHG_RR32 = 55; export const H_XCHG_RR64 = 56;
export const H_CDQ32 = 57; export const H_CDQ64 = 58;
export const H_CDQE32 = 59; export const H_CDQE64 = 60;
export const H_PUSH_R = 61; export const H_PUSH_I = 62; export const H_POP_R = 63;
export const H_MOV8_RR = 64; export const H_MOV8_RI = 65; export const H_MOV8_RM = 66;
export const H_MOV8_MR = 67; export const H_MOV8_MI = 68;
export const H_INC32M = 69; export const H_INC64M = 70; // INC/DEC memory (aux: 0 inc, 1 dec)
export const H_LEAVE = 71;
export const H_PUSH_M = 72; // push qword [m]
// 32-byte records: 74 .. 111
export const H_MOV_RI64 = 74;  // imm64 at +16
export const H_FALL = 75;      // block ends, execution continues at bip + disp
export const H_FBEND = 76;     // run one instruction with the interpreter, leave the block engine
export const H_JMP = 77;       // bip + imm
export const H_CALL = 78;      // push bip + disp, go to bip + imm
export const H_RET = 79;
export const H_JMP_R = 80; export const H_JMP_M = 81;
export const H_CALL_R = 82; export const H_CALL_M = 83;
export const H_JMP32 = 84; export const H_JCC32 = 85; // 32-bit mode: targets wrap at 4 GiB
export const H_JCC = 86;       // + condition (16): taken: bip + imm, else bip + disp
// ALU ops: H_ALU + op * 16 + form. op: 0 add 1 or 2 adc 3 sbb 4 and 5 sub 6 xor 7 cmp 8 test.
export const H_ALU = 112;
export const A_RR32 = 0; export const A_RR64 = 1; export const A_RI32 = 2; export const A_RI64 = 3;
export const A_RM32 = 4; export const A_RM64 = 5; export const A_MR32 = 6; export const A_MR64 = 7;
export const A_MI32 = 8; export const A_MI64 = 9; export const A_RR8 = 10; export const A_RI8 = 11;
export const A_RM8 = 12; export const A_MR8 = 13; export const A_MI8 = 14;
@inline export function aluId(op: u32, form: u32): u32 { return <u32>H_ALU + (op << 4) + form; }

@inline export function recSize(op: i32): usize { return op >= H_MOV_RI64 && op < H_ALU ? 32 : 16; }

// ---- lookup hash: 4096 x (u32 key, u32 block) ----
const HASH_ENTRIES: u32 = 4096;
@inline export function hashSlot(key: u32): usize { return BHASH + (<usize>((key * 0x9e3779b1) >> 20) << 3); }
@inline export function cachedBlock(key: u32): usize {
  const e = hashSlot(key);
  return load<u32>(e) == key ? <usize>load<u32>(e, 4) : 0;
}

// ---- page directory: 2048 x (u32 host page, u32 first block, u64 chunk mask) ----
const DIR_ENTRIES: u32 = 2048;
const DIR_MAX: i32 = 1536;
let dirCount: i32 = 0;

export let arenaTop: usize = 0;
export let cacheGen: u32 = 0;    // bumped by every flush
export let cacheMode: i32 = 0;   // decoding mode of the cached blocks (1: 64-bit, 2: 32-bit)
export let blocksBuilt: u32 = 0; // statistics
export let flushes: u32 = 0;

export function flushCode(): void {
  memory.fill(BHASH, 0, <usize>HASH_ENTRIES << 3);
  memory.fill(PAGEDIR, 0, <usize>DIR_ENTRIES << 4);
  arenaTop = ARENA;
  dirCount = 0;
  cacheGen++;
  flushes++;
  codeDirty = true;
}
export function setCacheMode(m: i32): void { cacheMode = m; }

@inline function dirStart(page: usize): u32 { return ((<u32>page >> 12) * 0x9e3779b1) >> 21; }

// Directory entry of a host page, or 0.
export function dirFind(page: usize): usize {
  let i = dirStart(page);
  while (true) {
    const e = PAGEDIR + (<usize>i << 4);
    const k = <usize>load<u32>(e);
    if (k == page) return e;
    if (k == 0) return 0;
    i = (i + 1) & (DIR_ENTRIES - 1);
  }
}

// Does the host page hold decoded code? (translate() withholds write permission then.)
export function isCodePage(page: usize): bool {
  const e = dirFind(page);
  return e != 0 && load<u64>(e, 8) != 0;
}

// Invalidates every block of the page behind directory entry e.
function invalidateEntry(e: usize): void {
  let b = <usize>load<u32>(e, 4);
  while (b != 0) {
    store<u8>(b, 0, B_VALID);
    const h = hashSlot(load<u32>(b, B_KEY));
    if (<usize>load<u32>(h, 4) == b) store<u64>(h, 0);
    b = <usize>load<u32>(b, B_NEXT);
  }
  store<u32>(e, 0, 4);
  store<u64>(e, 0, 8);
  codeDirty = true;
}

// A write of `size` bytes at page offset `off` of host page `page` is about to happen.
export function codeWrite(page: usize, off: u32, size: u32): void {
  const e = dirFind(page);
  if (e == 0) return;
  const mask = load<u64>(e, 8);
  if (mask == 0) return;
  let last = off + size - 1;
  if (last > 4095) last = 4095;
  const first = off >> 6;
  const bits = (((<u64>2) << <u64>((last >> 6) - first)) - 1) << <u64>first;
  if ((mask & bits) != 0) invalidateEntry(e);
}

// Host (wrapper) writes: invalidate decoded code in [host, host + len).
export function codeWriteRange(host: usize, len: usize): void {
  let a = host;
  const end = host + len;
  while (a < end) {
    const page = a & ~<usize>0xfff;
    let n = page + 4096 - a;
    if (n > end - a) n = end - a;
    codeWrite(page, <u32>(a - page), <u32>n);
    a += n;
  }
}

// ---- allocation ----
// Space for a block under construction; flushes everything when the arena is short.
export function blockSpace(bytes: usize): usize {
  if (arenaTop + bytes > ARENA_END || dirCount >= DIR_MAX) flushCode();
  return arenaTop;
}

// Publishes a block built at arenaTop: `bytes` of records, covering page offsets [start, end).
export function commitBlock(b: usize, bytes: usize, page: usize, start: u32, end: u32): void {
  arenaTop = (b + bytes + 7) & ~<usize>7;
  blocksBuilt++;
  // directory entry (find or insert)
  let i = dirStart(page);
  let e: usize = 0;
  while (true) {
    e = PAGEDIR + (<usize>i << 4);
    const k = <usize>load<u32>(e);
    if (k == page) break;
    if (k == 0) { store<u32>(e, <u32>page); store<u32>(e, 0, 4); store<u64>(e, 0, 8); dirCount++; break; }
    i = (i + 1) & (DIR_ENTRIES - 1);
  }
  const oldMask = load<u64>(e, 8);
  let last = end - 1;
  if (last > 4095) last = 4095;
  const first = start >> 6;
  const bits = (((<u64>2) << <u64>((last >> 6) - first)) - 1) << <u64>first;
  store<u64>(e, oldMask | bits, 8);
  store<u32>(b, load<u32>(e, 4), B_NEXT);
  store<u32>(e, <u32>b, 4);
  const h = hashSlot(load<u32>(b, B_KEY));
  store<u32>(h, load<u32>(b, B_KEY));
  store<u32>(h, <u32>b, 4);
  if (oldMask == 0) revokeWrite(page);
}

// The page just became a code page: TLB entries mapping it lose write permission (kept as CODEW).
function revokeWrite(page: usize): void {
  const p32 = <u32>page;
  for (let i = 0; i < TLB_ENTRIES; i++) {
    const t = TLB + (<usize>i << 4);
    if (load<u32>(t, 12) != p32) continue;
    const perm = load<u32>(t, 8);
    const w = perm & (2 | 16);
    if (w != 0) store<u32>(t, (perm & ~w) | (w << 6), 8);
  }
}
