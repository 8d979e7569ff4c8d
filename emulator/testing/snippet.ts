// Runs short 64-bit code snippets from a fixed initial state, for differential tests
// against the host CPU (emulator/test/diff). Layout matches the native harness:
// code at CODE_ADDR, a 4 KiB data page at DATA_ADDR (the next page is RAM too).
import { createRawMachine, type RawMachine } from '../raw-machine.ts';
import type { ExitReason } from '../cpu.ts';

export const CODE_ADDR = 0x100000;
export const DATA_ADDR = 0x200000;

export interface SnippetInput {
  code: Uint8Array;
  gpr: bigint[];
  rflags: bigint;
  xmm?: bigint[];
  mxcsr?: number;
  data: Uint8Array;
  maxInsns?: number;
}
export interface SnippetOutput {
  exit: ExitReason;
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
  xmm: bigint[];
  mxcsr: number;
  data: Uint8Array;
  exception: { vector: number; errorCode: number } | null;
  instructions: number;
}

export class SnippetRunner {
  private constructor(private readonly m: RawMachine) {}
  static async create(): Promise<SnippetRunner> {
    return new SnippetRunner(await createRawMachine({ memMiB: 4, bits: 64 }));
  }

  run(input: SnippetInput): SnippetOutput {
    const m = this.m; const cpu = m.cpu; const mem = m.mem;
    m.resetState();
    const code = new Uint8Array(input.code.length + 1);
    code.set(input.code); code[input.code.length] = 0xf4; // HLT ends the snippet
    mem.fill(0, CODE_ADDR, CODE_ADDR + 0x1000 + code.length);
    mem.set(code, CODE_ADDR);
    mem.fill(0, DATA_ADDR, DATA_ADDR + 0x2000);
    mem.set(input.data.subarray(0, 4096), DATA_ADDR);
    for (let i = 0; i < 16; i++) cpu.setGpr(i, input.gpr[i] ?? 0n);
    for (let i = 0; i < 16; i++) cpu.setXmm(i, input.xmm?.[2 * i] ?? 0n, input.xmm?.[2 * i + 1] ?? 0n);
    cpu.set({ rip: BigInt(CODE_ADDR), rflags: (input.rflags | 2n) & ~0x100n, mxcsr: input.mxcsr ?? 0x1f80 });
    const r = m.run(input.maxInsns ?? 10000);
    const xmm: bigint[] = [];
    for (let i = 0; i < 16; i++) xmm.push(...cpu.getXmm(i));
    return {
      exit: r.exit,
      gpr: Array.from({ length: 16 }, (_, i) => cpu.getGpr(i)),
      rip: cpu.get('rip'),
      rflags: cpu.get('rflags'),
      xmm,
      mxcsr: Number(cpu.get('mxcsr')),
      data: mem.slice(DATA_ADDR, DATA_ADDR + 4096),
      exception: r.exception ? { vector: r.exception.vector, errorCode: r.exception.error_code } : null,
      instructions: r.instructions,
    };
  }
}
