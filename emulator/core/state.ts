// CPU architectural state. Hot state lives in wasm globals; anything indexed
// (GPRs, XMM, segment registers) lives at fixed addresses in linear memory so
// the TypeScript wrapper can read it without calls. `saveState`/`loadState`
// move the globals through the SYNC block (layout mirrored in emulator/core-layout.ts).

// Memory map of the shared WebAssembly.Memory. Several CPU instances (one per VM) share one
// memory, so each gets its own state region at `STATE` (set by setStateBase before use);
// the AS data segment sits below 1 MiB and guest/host RAM starts at POOL.
// Region layout (mirrored by emulator/core-layout.ts for the parts the wrapper reads):
//   0x00000 registers (16 GPRs, then slot 16 = constant 0 and slot 17 = block RIP for the
//           block engine's uniform address computation), XMM, segments, sync block, ...
//   0x01000 block lookup hash (codecache.ts)     0x09000 STOP record
//   0x10000 TLB                                   0x20000 code page directory
//   0x28000 .. STATE_REGION: decoded-block arena
export const STATE_REGION: usize = 0x100000;  // bytes per CPU
export let STATE: usize = 0x100000;
export let REGS: usize = STATE;             // 16 x u64: rax rcx rdx rbx rsp rbp rsi rdi r8..r15
export let XMM: usize = STATE + 0x100;      // 16 x 128-bit
export let SEGS: usize = STATE + 0x200;     // 8 x 32 bytes: ES CS SS DS FS GS LDTR TR
export let SYNC: usize = STATE + 0x300;     // u64 slots, see SYNC_* below
export let MMIO_WIN: usize = STATE + 0x600; // 8 x (start u64, end u64): guest-physical MMIO windows
export let DREGS: usize = STATE + 0x700;    // DR0-DR7 (stored only)
export let SCRATCH: usize = STATE + 0x800;  // 512-byte scratch
export let BHASH: usize = STATE + 0x1000;   // block lookup hash
export let STOPREC: usize = STATE + 0x9000; // a record that ends block execution
export let TLB: usize = STATE + 0x10000;    // TLB_ENTRIES x 16 bytes
export let PAGEDIR: usize = STATE + 0x20000; // code page directory
export let ARENA: usize = STATE + 0x28000;  // decoded blocks
export let ARENA_END: usize = STATE + STATE_REGION;
export const TLB_ENTRIES: i32 = 4096;
export const REG_ZERO = 16;                 // register slot that always reads 0
export const REG_BRIP = 17;                 // register slot holding the current block's RIP
// Guest RAM (raw mode) or the host frame pool (EPT mode) starts here. Host-physical
// address 0 is memory offset POOL, so a host offset of 0 can mean "not RAM".
export const POOL: usize = 0x4000000;

export function setStateBase(base: usize): void {
  STATE = base; REGS = base; XMM = base + 0x100; SEGS = base + 0x200; SYNC = base + 0x300;
  MMIO_WIN = base + 0x600; DREGS = base + 0x700; SCRATCH = base + 0x800; TLB = base + 0x10000;
  BHASH = base + 0x1000; STOPREC = base + 0x9000; PAGEDIR = base + 0x20000; ARENA = base + 0x28000;
  ARENA_END = base + STATE_REGION;
}

// Segment register indices (match the sreg encoding in ModRM.reg for 0..5).
export const ES = 0; export const CS = 1; export const SS = 2; export const DS = 3;
export const FS = 4; export const GS = 5; export const LDTR = 6; export const TR = 7;
// Segment slot layout.
export const SEG_BASE = 0; export const SEG_LIMIT = 8; export const SEG_SEL = 12;
export const SEG_ATTR = 16; export const SEG_EBASE = 24;
// attr bits: 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G, 16 unusable
export const ATTR_S: u32 = 1 << 4; export const ATTR_P: u32 = 1 << 7;
export const ATTR_L: u32 = 1 << 9; export const ATTR_DB: u32 = 1 << 10;
export const ATTR_G: u32 = 1 << 11; export const ATTR_UNUSABLE: u32 = 1 << 16;

// SYNC block slot indices (u64 each).
export const SYNC_RIP = 0; export const SYNC_RFLAGS = 1; export const SYNC_CR0 = 2;
export const SYNC_CR2 = 3; export const SYNC_CR3 = 4; export const SYNC_CR4 = 5;
export const SYNC_CR8 = 6; export const SYNC_EFER = 7; export const SYNC_GDTR_BASE = 8;
export const SYNC_GDTR_LIMIT = 9; export const SYNC_IDTR_BASE = 10; export const SYNC_IDTR_LIMIT = 11;
export const SYNC_STAR = 12; export const SYNC_LSTAR = 13; export const SYNC_CSTAR = 14;
export const SYNC_SFMASK = 15; export const SYNC_KGSBASE = 16; export const SYNC_TSC_AUX = 17;
export const SYNC_SYSENTER_CS = 18; export const SYNC_SYSENTER_ESP = 19; export const SYNC_SYSENTER_EIP = 20;
export const SYNC_PAT = 21; export const SYNC_ICOUNT = 22; export const SYNC_HALTED = 23;
export const SYNC_MXCSR = 24; export const SYNC_EPTP = 25; export const SYNC_EXIT = 26;
export const SYNC_EXC_VECTOR = 27; export const SYNC_EXC_ERROR = 28; export const SYNC_EXIT_GPA = 29;
export const SYNC_EXIT_QUAL = 30; export const SYNC_TSC_OFFSET = 31; export const SYNC_APIC_BASE = 32;
export const SYNC_TSC_DEADLINE = 33; export const SYNC_RAW = 34; export const SYNC_RAM_BYTES = 35;
export const SYNC_VCLOCK = 36; export const SYNC_XCR0 = 37; export const SYNC_EXIT_LIN = 38;
export const SYNC_MISC_ENABLE = 39;

// ---- hot state (globals) ----
export let rip: u64 = 0;
export let startRip: u64 = 0;        // RIP of the instruction being executed (faults restart here)
export let flagsOther: u64 = 2;      // RFLAGS bits other than the six arithmetic ones (CF PF AF ZF SF OF)
export let cr0: u64 = 0x60000010;
export let cr2: u64 = 0;
export let cr3: u64 = 0;
export let cr4: u64 = 0;
export let cr8: u64 = 0;
export let efer: u64 = 0;
export let xcr0: u64 = 1;
export let gdtrBase: u64 = 0; export let gdtrLimit: u32 = 0xffff;
export let idtrBase: u64 = 0; export let idtrLimit: u32 = 0x3ff;
export let msrStar: u64 = 0; export let msrLstar: u64 = 0; export let msrCstar: u64 = 0;
export let msrSfmask: u64 = 0; export let msrKernelGsBase: u64 = 0; export let msrTscAux: u64 = 0;
export let msrSysenterCs: u64 = 0; export let msrSysenterEsp: u64 = 0; export let msrSysenterEip: u64 = 0;
export let msrPat: u64 = 0x0007040600070406; export let msrApicBase: u64 = 0xfee00900;
export let msrTscDeadline: u64 = 0; export let msrMiscEnable: u64 = 1;
export let tscOffset: u64 = 0;
export let mxcsr: u32 = 0x1f80;
export let icount: u64 = 0;          // retired instructions
// Guest time in ticks is icount plus the time skipped while halted (see vclockNow).
export let vclockSkew: u64 = 0;
@inline export function vclockNow(): u64 { return icount + vclockSkew; }
export let insnLimit: u64 = 0;       // icount at which the current run() must stop (REP honours it)
export let halted: bool = false;
export let eptp: u64 = 0;            // 0: no EPT (raw mode: guest-physical == pool offset)
export let rawExceptions: bool = false; // raw mode: stop on exceptions instead of delivering them
export let ramBytes: u64 = 0;        // raw mode: guest RAM size

// Derived mode state (recomputed by updateMode()).
export let mode64: bool = false;     // 64-bit mode (LMA && CS.L)
export let protMode: bool = false;   // CR0.PE
export let defOp: i32 = 2;           // default operand size in bytes
export let defAd: i32 = 2;           // default address size in bytes
export let cpl: i32 = 0;
export let linMask: u64 = 0xffffffff;
export let userShift: u32 = 0;        // 3 when CPL == 3 (selects the user permission bits of a TLB entry)
export let stackSize: i32 = 2;        // SS.B: 2, 4 or 8 bytes of RSP in use

// Exit / abort protocol with the TypeScript wrapper.
export const EXIT_NONE = 0; export const EXIT_LIMIT = 1; export const EXIT_HLT = 2;
export const EXIT_EXCEPTION = 3; export const EXIT_TRIPLE_FAULT = 4; export const EXIT_EPT_VIOLATION = 5;
export const EXIT_REQUEST = 6; export const EXIT_INTERNAL = 7;
export let exitReason: i32 = 0;
export let abortKind: i32 = 0;       // set right before `unreachable` unwinds to the wrapper
export const ABORT_EXCEPTION = 1; export const ABORT_EPT = 2; export const ABORT_TRIPLE = 3;
export let excVector: i32 = -1; export let excError: i32 = 0; export let excHasError: bool = false;
export let exitGpa: u64 = 0; export let exitQual: u64 = 0; export let exitLin: u64 = 0;
export let exitRequested: bool = false;
export let codeDirty: bool = false;   // decoded code was invalidated (the block engine must stop)
export let irqPending: bool = false;  // the LAPIC has something deliverable (set by the wrapper)
export let intShadow: bool = false;   // STI / MOV SS shadow: no interrupt before the next instruction

// ---- register file ----
@inline export function reg64(r: i32): u64 { return load<u64>(REGS + (<usize>r << 3)); }
@inline export function setReg64(r: i32, v: u64): void { store<u64>(REGS + (<usize>r << 3), v); }

@inline export function segBase(s: i32): u64 { return load<u64>(SEGS + (<usize>s << 5), SEG_BASE); }
@inline export function segEbase(s: i32): u64 { return load<u64>(SEGS + (<usize>s << 5), SEG_EBASE); }
@inline export function segSel(s: i32): u32 { return load<u32>(SEGS + (<usize>s << 5), SEG_SEL); }
@inline export function segAttr(s: i32): u32 { return load<u32>(SEGS + (<usize>s << 5), SEG_ATTR); }
@inline export function segLimit(s: i32): u32 { return load<u32>(SEGS + (<usize>s << 5), SEG_LIMIT); }
export function setSegBase(s: i32, v: u64): void { store<u64>(SEGS + (<usize>s << 5), v, SEG_BASE); }
export function setSeg(s: i32, sel: u32, base: u64, limit: u32, attr: u32): void {
  const p = SEGS + (<usize>s << 5);
  store<u32>(p, sel, SEG_SEL); store<u64>(p, base, SEG_BASE);
  store<u32>(p, limit, SEG_LIMIT); store<u32>(p, attr, SEG_ATTR);
}
