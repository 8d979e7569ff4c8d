// SSE/SSE2 instructions (0F-prefixed opcodes not handled by the integer decoder).
import { XMM, mxcsr } from './state';
import { readLin, writeLin, raiseUD, raiseGP } from './mem';

export function execSse(op: u32): void {
  raiseUD();
}

// FXSAVE / FXRSTOR: 512-byte image (SDM vol. 1 s10.5.1); only the SSE part is live.
export function fxsave(lin: u64): void {
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
  const m = <u32>readLin(lin, 4);
  if ((m & 0xffff0000) != 0) { raiseGP(0); return; }
  mxcsr = m;
}
export function stmxcsr(lin: u64): void { writeLin(lin, 4, <u64>mxcsr); }
