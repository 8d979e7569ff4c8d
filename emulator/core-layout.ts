// Byte layout of a CPU instance's state region, mirrored from emulator/core/state.ts.
export const POOL = 0x4000000;            // guest RAM / host frame pool starts at this memory offset
export const STATE_FIRST = 0x100000;      // first CPU state region
export const STATE_REGION = 0x100000;     // bytes per CPU state region (registers, TLB, decoded code)
export const MAX_CPUS = (POOL - STATE_FIRST) / STATE_REGION;

export const OFF_REGS = 0x000;
export const OFF_XMM = 0x100;
export const OFF_SEGS = 0x200;
export const OFF_SYNC = 0x300;
export const OFF_MMIO_WIN = 0x600;

export const SEG = { es: 0, cs: 1, ss: 2, ds: 3, fs: 4, gs: 5, ldtr: 6, tr: 7 } as const;
export type SegName = keyof typeof SEG;
// Segment slot: base u64 @0, limit u32 @8, selector u32 @12, attr u32 @16, effective base @24.
// attr bits: 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G, 16 unusable.
export const ATTR = { S: 1 << 4, P: 1 << 7, L: 1 << 9, DB: 1 << 10, G: 1 << 11, UNUSABLE: 1 << 16 } as const;

export const SYNC_SLOTS = [
  'rip', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'gdtr_base', 'gdtr_limit', 'idtr_base',
  'idtr_limit', 'star', 'lstar', 'cstar', 'sfmask', 'kernel_gs_base', 'tsc_aux', 'sysenter_cs',
  'sysenter_esp', 'sysenter_eip', 'pat', 'icount', 'halted', 'mxcsr', 'eptp', 'exit', 'exc_vector',
  'exc_error', 'exit_gpa', 'exit_qual', 'tsc_offset', 'apic_base', 'tsc_deadline', 'raw', 'ram_bytes',
  'vclock', 'xcr0', 'exit_lin', 'misc_enable', 'exc_has_error',
] as const;
export type SyncName = (typeof SYNC_SLOTS)[number];

export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

// Exit codes returned by the core's run()/onAbort().
export const EXIT = { NONE: 0, LIMIT: 1, HLT: 2, EXCEPTION: 3, TRIPLE_FAULT: 4, EPT_VIOLATION: 5, REQUEST: 6, INTERNAL: 7 } as const;
