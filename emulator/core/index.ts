// Entry points of the CPU core module (see emulator/cpu.ts for the TypeScript side).
import {
  SYNC, rip, startRip, cr0, cr2, cr3, cr4, cr8, efer, xcr0, gdtrBase, gdtrLimit, idtrBase, idtrLimit,
  msrStar, msrLstar, msrCstar, msrSfmask, msrKernelGsBase, msrTscAux, msrSysenterCs, msrSysenterEsp,
  msrSysenterEip, msrPat, msrApicBase, msrTscDeadline, msrMiscEnable, tscOffset, mxcsr, icount, vclockSkew,
  halted, eptp, rawExceptions, ramBytes, exitReason, abortKind, excVector, excError, excHasError,
  exitGpa, exitQual, exitLin, exitRequested, irqPending, intShadow, userShift, flagsOther,
  EXIT_NONE, EXIT_LIMIT, EXIT_HLT, EXIT_EXCEPTION, EXIT_TRIPLE_FAULT, EXIT_EPT_VIOLATION, EXIT_REQUEST,
  EXIT_INTERNAL, ABORT_EXCEPTION, ABORT_EPT, ABORT_TRIPLE, setSeg, CS, SS, DS, ES, FS, GS, LDTR, TR,
  ATTR_P, ATTR_S, REGS, setStateBase, STATE_REGION, POOL, insnLimit, codeDirty, mode64, protMode, defOp,
  stackSize, linMask, vclockNow,
} from './state';
import { execBlocks, R_STEP } from './exec';
import { flushCode, codeWriteRange, blocksBuilt, flushes } from './codecache';
import { accShift, tlbFlushAll, tlbFlushPage } from './mem';
import { getRflags, setRflagsAll, IF, VM } from './flags';
import { step } from './interp';
import { updateMode, deliver, KIND_HW, KIND_EXT } from './system';
import { ackIrq } from './imports';

let delivering: i32 = -1;   // vector whose delivery is in progress (double-fault detection)
let extVector: i32 = -1;    // acknowledged external interrupt not yet delivered
let extDelivering: bool = false;

// Contributory exceptions (SDM vol. 3 table 6-4).
function contributory(v: i32): bool { return v == 0 || (v >= 10 && v <= 13); }

function deliverExternal(): void {
  if (extVector < 0) {
    extVector = ackIrq();
    if (extVector < 0) return;
  }
  halted = false;
  startRip = rip;
  extDelivering = true;
  deliver(extVector, 0, false, KIND_EXT);
  extDelivering = false;
  extVector = -1;
}

// The block engine runs in 64-bit mode and in flat 32-bit protected mode (32-bit code and stack
// segments, no VM86); everything else goes through the interpreter one instruction at a time.
let blockEngine = true;
@inline function blocksUsable(): bool {
  return blockEngine && (mode64 || (protMode && defOp == 4 && stackSize == 4 && (flagsOther & VM) == 0));
}

// Runs up to `budget` instructions. Returns an EXIT_* code. Faults unwind through
// `unreachable`; the wrapper then calls onAbort() to deliver them or to report an exit.
export function run(budget: i32): i32 {
  exitReason = EXIT_NONE;
  const end = icount + <u64>budget;
  insnLimit = end;
  let single = false; // the block engine asked for one interpreted instruction
  while (icount < end) {
    if (irqPending && !intShadow && (flagsOther & IF) != 0) deliverExternal();
    if (halted) { exitReason = EXIT_HLT; return exitReason; }
    if (single || intShadow || !blocksUsable()) {
      single = false;
      intShadow = false;
      step();
      icount++;
    } else single = execBlocks(end) == R_STEP;
    if (exitRequested) {
      exitRequested = false;
      if (exitReason == EXIT_NONE) exitReason = EXIT_REQUEST;
      return exitReason;
    }
  }
  exitReason = EXIT_LIMIT;
  return exitReason;
}

export function onAbort(): i32 {
  const k = abortKind;
  abortKind = 0;
  accShift = userShift;
  rip = startRip;
  if (k == ABORT_EPT) {
    delivering = -1; extDelivering = false;
    exitReason = EXIT_EPT_VIOLATION;
    return exitReason;
  }
  if (k == ABORT_TRIPLE) { exitReason = EXIT_TRIPLE_FAULT; return exitReason; }
  if (k != ABORT_EXCEPTION) { exitReason = EXIT_INTERNAL; return exitReason; }
  if (extDelivering) { extDelivering = false; extVector = -1; }
  if (rawExceptions) { delivering = -1; exitReason = EXIT_EXCEPTION; return exitReason; }
  let v = excVector; let e = excError; let has = excHasError;
  if (delivering >= 0) {
    const first = delivering;
    if (first == 8) { delivering = -1; exitReason = EXIT_TRIPLE_FAULT; return exitReason; }
    if ((contributory(first) && contributory(v)) || (first == 14 && (contributory(v) || v == 14))) {
      v = 8; e = 0; has = true; excVector = 8;
    }
  }
  delivering = v;
  deliver(v, e, has, KIND_HW);
  delivering = -1;
  return EXIT_NONE;
}

// ---- state transfer (slot layout in state.ts, mirrored by emulator/core-layout.ts) ----
@inline function slot(i: i32): usize { return SYNC + (<usize>i << 3); }

export function saveState(): void {
  store<u64>(slot(0), rip); store<u64>(slot(1), getRflags()); store<u64>(slot(2), cr0);
  store<u64>(slot(3), cr2); store<u64>(slot(4), cr3); store<u64>(slot(5), cr4); store<u64>(slot(6), cr8);
  store<u64>(slot(7), efer); store<u64>(slot(8), gdtrBase); store<u64>(slot(9), <u64>gdtrLimit);
  store<u64>(slot(10), idtrBase); store<u64>(slot(11), <u64>idtrLimit); store<u64>(slot(12), msrStar);
  store<u64>(slot(13), msrLstar); store<u64>(slot(14), msrCstar); store<u64>(slot(15), msrSfmask);
  store<u64>(slot(16), msrKernelGsBase); store<u64>(slot(17), msrTscAux); store<u64>(slot(18), msrSysenterCs);
  store<u64>(slot(19), msrSysenterEsp); store<u64>(slot(20), msrSysenterEip); store<u64>(slot(21), msrPat);
  store<u64>(slot(22), icount); store<u64>(slot(23), halted ? 1 : 0); store<u64>(slot(24), <u64>mxcsr);
  store<u64>(slot(25), eptp); store<u64>(slot(26), <u64>exitReason); store<u64>(slot(27), <u64><i64>excVector);
  store<u64>(slot(28), <u64><u32>excError); store<u64>(slot(29), exitGpa); store<u64>(slot(30), exitQual);
  store<u64>(slot(31), tscOffset); store<u64>(slot(32), msrApicBase); store<u64>(slot(33), msrTscDeadline);
  store<u64>(slot(34), rawExceptions ? 1 : 0); store<u64>(slot(35), ramBytes); store<u64>(slot(36), vclockNow());
  store<u64>(slot(37), xcr0); store<u64>(slot(38), exitLin); store<u64>(slot(39), msrMiscEnable);
  store<u64>(slot(40), excHasError ? 1 : 0);
}

export function loadState(): void {
  rip = load<u64>(slot(0)); setRflagsAll(load<u64>(slot(1))); cr0 = load<u64>(slot(2));
  cr2 = load<u64>(slot(3)); cr3 = load<u64>(slot(4)); cr4 = load<u64>(slot(5)); cr8 = load<u64>(slot(6));
  efer = load<u64>(slot(7)); gdtrBase = load<u64>(slot(8)); gdtrLimit = <u32>load<u64>(slot(9));
  idtrBase = load<u64>(slot(10)); idtrLimit = <u32>load<u64>(slot(11)); msrStar = load<u64>(slot(12));
  msrLstar = load<u64>(slot(13)); msrCstar = load<u64>(slot(14)); msrSfmask = load<u64>(slot(15));
  msrKernelGsBase = load<u64>(slot(16)); msrTscAux = load<u64>(slot(17)); msrSysenterCs = load<u64>(slot(18));
  msrSysenterEsp = load<u64>(slot(19)); msrSysenterEip = load<u64>(slot(20)); msrPat = load<u64>(slot(21));
  icount = load<u64>(slot(22)); halted = load<u64>(slot(23)) != 0; mxcsr = <u32>load<u64>(slot(24));
  eptp = load<u64>(slot(25)); tscOffset = load<u64>(slot(31)); msrApicBase = load<u64>(slot(32));
  msrTscDeadline = load<u64>(slot(33)); rawExceptions = load<u64>(slot(34)) != 0; ramBytes = load<u64>(slot(35));
  vclockSkew = load<u64>(slot(36)) - icount; xcr0 = load<u64>(slot(37)); msrMiscEnable = load<u64>(slot(39));
  delivering = -1; extVector = -1; extDelivering = false; intShadow = false;
  updateMode();
  tlbFlushAll();
  flushCode(); // the host may have rewritten guest memory
}

// Power-on state (SDM vol. 3 table 10-1): real mode at F000:FFF0.
export function resetCpu(): void {
  for (let i = 0; i < 16; i++) store<u64>(REGS + (<usize>i << 3), 0);
  const dataAttr: u32 = 3 | ATTR_S | ATTR_P;
  setSeg(CS, 0xf000, 0xffff0000, 0xffff, 0xb | ATTR_S | ATTR_P);
  setSeg(SS, 0, 0, 0xffff, dataAttr); setSeg(DS, 0, 0, 0xffff, dataAttr);
  setSeg(ES, 0, 0, 0xffff, dataAttr); setSeg(FS, 0, 0, 0xffff, dataAttr); setSeg(GS, 0, 0, 0xffff, dataAttr);
  setSeg(LDTR, 0, 0, 0xffff, 2 | ATTR_P); setSeg(TR, 0, 0, 0xffff, 0xb | ATTR_P);
  rip = 0xfff0; setRflagsAll(2); cr0 = 0x60000010; cr2 = 0; cr3 = 0; cr4 = 0; cr8 = 0; efer = 0; xcr0 = 1;
  gdtrBase = 0; gdtrLimit = 0xffff; idtrBase = 0; idtrLimit = 0xffff; mxcsr = 0x1f80; halted = false;
  delivering = -1; extVector = -1; extDelivering = false; intShadow = false;
  updateMode();
  tlbFlushAll();
  flushCode();
}

// Selects this instance's state region (must be called first; regions must not overlap).
export function init(stateBase: i32): void { setStateBase(<usize>stateBase); flushCode(); }
export function stateRegionBytes(): i32 { return <i32>STATE_REGION; }
export function poolBase(): i32 { return <i32>POOL; }
// Called after the embedder rewrote segment registers in memory.
export function refreshMode(): void { updateMode(); }
// INVEPT-style flush after the host changed EPT: decoded code is keyed by host frame, and the
// host may reuse frames, so it goes too.
export function flushTlb(): void { tlbFlushAll(); flushCode(); }
// The host wrote guest RAM behind the CPU's back (DMA, loaders): drop decoded code there.
// hpa is a host-physical address (pool offset).
export function invalidateCode(hpa: f64, len: f64): void {
  if (len > 0) codeWriteRange(POOL + <usize>hpa, <usize>len);
}
export function flushCodeCache(): void { flushCode(); }
// 0: interpreter only (for tests and debugging), 1: block engine where usable.
export function setBlockEngine(on: i32): void { blockEngine = on != 0; }
export function codeCacheStats(which: i32): f64 { return which == 0 ? <f64>blocksBuilt : <f64>flushes; }
export function flushTlbPage(lin: u64): void { tlbFlushPage(lin); }
export function setIrqPending(v: i32): void { irqPending = v != 0; }
export function requestExit(): void { exitRequested = true; }
export function getIcount(): f64 { return <f64>icount; }
export function getVclock(): f64 { return <f64>vclockNow(); }
export function advanceVclock(n: f64): void { vclockSkew += <u64>n; }
export function clearTscDeadline(): void { msrTscDeadline = 0; }
export function isHalted(): i32 { return halted ? 1 : 0; }
export function setHaltedState(v: i32): void { halted = v != 0; }
// Injects a hardware exception as if raised by the current instruction (used by tests/raw runner).
export function injectException(vector: i32, error: i32, hasError: i32): void {
  deliver(vector, error, hasError != 0, KIND_HW);
}
export { EXIT_LIMIT, EXIT_HLT, EXIT_EXCEPTION, EXIT_TRIPLE_FAULT, EXIT_EPT_VIOLATION, EXIT_REQUEST, EXIT_INTERNAL };
