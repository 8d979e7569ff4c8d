// The CPU benchmark workload: a xorshift32 loop that loads from and stores into a 64 KiB buffer.
//
// One iteration is exactly 15 instructions (the loop below, in both the 64-bit and the 32-bit
// build; only the address registers differ: [rsi+rbx] vs [esi+ebx]):
//
//    1  mov  edx, eax            \
//    2  shl  edx, 13              |  x ^= x << 13
//    3  xor  eax, edx            /
//    4  mov  edx, eax            \
//    5  shr  edx, 17              |  x ^= x >> 17
//    6  xor  eax, edx            /
//    7  mov  edx, eax            \
//    8  shl  edx, 5               |  x ^= x << 5
//    9  xor  eax, edx            /
//   10  mov  ebx, eax            \   idx = x & 0xfffc  (dword-aligned offset into the 64 KiB buffer)
//   11  and  ebx, 0xfffc         /
//   12  add  edi, [rsi+rbx]          acc += buf[idx]     (load)
//   13  mov  [rsi+rbx], eax          buf[idx] = x        (store)
//   14  dec  ecx                     counter
//   15  jnz  loop
//
// The loop is straight-line code with a single backward branch, so every iteration retires
// exactly these 15 instructions (also checked by single-stepping a native build of the 64-bit
// loop in gdb, and at run time against v86's instruction counter, see cpu-peers.ts).
//
// Register use: eax = xorshift state (seed SEED), edi = accumulator (0), rsi/esi = BUF,
// ecx = iteration count (read from the parameter block), ebx/edx = scratch.
// Result after N iterations: (eax, edi), reproduced by `reference(N)` below.
//
// Parameter block: the 8 bytes "JNXBENCH" followed by u32 iterations and u32 exit mode, patched
// into the assembled image by `patchParams` (found by searching for the magic, so it works for the
// raw binary and the ELF alike).
//
// - jinx (64-bit raw machine): code at ORG = 0x100000, buffer at BUF = 0x200000 (the host zeroes
//   it), setup + loop + HLT. The final state is left in eax/edi.
// - peers (32-bit multiboot1 ELF kernel at 0x100000): zeroes the buffer, prints "JNX:S\n" on COM1,
//   runs the same loop, prints "JNX:E <eax hex> <edi hex>\n", then either parks (cli; hlt: mode 0,
//   for v86) or writes 0 to port 0xf4 (mode 1, QEMU isa-debug-exit -> QEMU exit status 1).
//   The host timestamps the two markers, so boot time is excluded.
//   (v86 itself treats a write to port 0xf4 as "test exited" and throws "HALT" out of its main
//   loop when a multiboot kernel is loaded, hence the separate mode.)

import { assemble } from '../../lib/gas.ts';

export const ORG = 0x100000;
export const BUF = 0x200000;
export const BUF_SIZE = 0x10000;
export const SEED = 0x92d68ca2; // 2463534242, Marsaglia's xorshift32 example seed
export const INSNS_PER_ITER = 15;
export const EXIT_PARK = 0;
export const EXIT_ISA_DEBUG = 1;

const MAGIC = 'JNXBENCH';

function loopBody(bits: 32 | 64): string {
  const base = bits === 64 ? 'rsi' : 'esi';
  const idx = bits === 64 ? 'rbx' : 'ebx';
  return `
.p2align 4
bench_loop:
    mov  edx, eax
    shl  edx, 13
    xor  eax, edx
    mov  edx, eax
    shr  edx, 17
    xor  eax, edx
    mov  edx, eax
    shl  edx, 5
    xor  eax, edx
    mov  ebx, eax
    and  ebx, 0x${(BUF_SIZE - 4).toString(16)}
    add  edi, dword ptr [${base} + ${idx}]
    mov  dword ptr [${base} + ${idx}], eax
    dec  ecx
    jnz  bench_loop
bench_loop_end:
`;
}

const PARAMS = `
.p2align 3
bench_params:
    .ascii "${MAGIC}"
bench_iters:
    .long 0
bench_mode:
    .long 0
`;

export const JINX64_SOURCE = `
.text
.global _start
_start:
    mov  eax, 0x${SEED.toString(16)}
    xor  edi, edi
    mov  esi, 0x${BUF.toString(16)}
    mov  ecx, dword ptr [rip + bench_iters]
    xor  ebx, ebx
    xor  edx, edx
${loopBody(64)}
    hlt
    jmp  bench_loop_end
${PARAMS}
`;

export const MULTIBOOT32_SOURCE = `
.text
.p2align 2
multiboot_header:
    .long 0x1BADB002
    .long 0
    .long -0x1BADB002

.global _start
_start:
    mov  esp, offset stack_top
    cld
    mov  edi, 0x${BUF.toString(16)}
    xor  eax, eax
    mov  ecx, ${BUF_SIZE / 4}
    rep  stosd
    mov  esi, offset msg_start
    call puts

    mov  eax, 0x${SEED.toString(16)}
    xor  edi, edi
    mov  esi, 0x${BUF.toString(16)}
    mov  ecx, dword ptr [bench_iters]
    xor  ebx, ebx
    xor  edx, edx
${loopBody(32)}
    mov  dword ptr [result_state], eax
    mov  dword ptr [result_acc], edi
    mov  esi, offset msg_end
    call puts
    mov  eax, dword ptr [result_state]
    call puthex
    mov  al, 0x20
    call putc
    mov  eax, dword ptr [result_acc]
    call puthex
    mov  al, 0x0a
    call putc
    cmp  dword ptr [bench_mode], ${EXIT_ISA_DEBUG}
    jne  .Lpark
    mov  al, 0
    out  0xf4, al
.Lpark:
    cli
    hlt
    jmp  .Lpark

# putc: al -> COM1 (waits for THR empty); preserves all registers but flags
putc:
    push edx
    push eax
    mov  dx, 0x3fd
.Lputc_wait:
    in   al, dx
    test al, 0x20
    jz   .Lputc_wait
    pop  eax
    mov  dx, 0x3f8
    out  dx, al
    pop  edx
    ret

# puts: NUL-terminated string at esi; clobbers eax, esi
puts:
    lodsb
    test al, al
    jz   .Lputs_done
    call putc
    jmp  puts
.Lputs_done:
    ret

# puthex: eax as 8 hex digits; clobbers eax, ecx, edx
puthex:
    mov  ecx, 8
.Lputhex_next:
    rol  eax, 4
    mov  edx, eax
    and  edx, 0xf
    push eax
    mov  al, byte ptr [hexdigits + edx]
    call putc
    pop  eax
    dec  ecx
    jnz  .Lputhex_next
    ret

.data
msg_start:  .asciz "JNX:S\\n"
msg_end:    .asciz "JNX:E "
hexdigits:  .ascii "0123456789abcdef"
.p2align 2
result_state: .long 0
result_acc:   .long 0
${PARAMS}

.bss
.p2align 4
stack_bottom:
    .skip 4096
stack_top:
`;

/** Write iterations and exit mode into the image's parameter block. */
export function patchParams(image: Uint8Array, iterations: number, mode: number): Uint8Array {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0xffffffff) {
    throw new RangeError(`iterations must be an integer in [1, 2^32-1], got ${iterations}`);
  }
  const magic = new TextEncoder().encode(MAGIC);
  let at = -1;
  outer: for (let i = 0; i + magic.length + 8 <= image.length; i++) {
    for (let j = 0; j < magic.length; j++) if (image[i + j] !== magic[j]) continue outer;
    if (at !== -1) throw new Error('workload: parameter block magic found twice');
    at = i;
  }
  if (at === -1) throw new Error('workload: parameter block not found');
  const out = image.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(at + 8, iterations >>> 0, true);
  dv.setUint32(at + 12, mode >>> 0, true);
  return out;
}

export interface Jinx64Workload {
  bytes: Uint8Array;
  org: number;
  entry: number;
  /** address range of the 15-instruction loop */
  loopStart: number;
  loopEnd: number;
}

export function buildJinx64(iterations: number): Jinx64Workload {
  const { bytes, symbols } = assemble(JINX64_SOURCE, { bits: 64, org: ORG, output: 'raw', name: 'xorshift jinx64' });
  return {
    bytes: patchParams(bytes, iterations, EXIT_PARK),
    org: ORG,
    entry: symbols.get('_start')!,
    loopStart: symbols.get('bench_loop')!,
    loopEnd: symbols.get('bench_loop_end')!,
  };
}

/** The 32-bit multiboot1 kernel (ELF32) for v86 (mode EXIT_PARK) and QEMU (EXIT_ISA_DEBUG). */
export function buildMultiboot32(iterations: number, mode: number): Uint8Array {
  const { bytes } = assemble(MULTIBOOT32_SOURCE, { bits: 32, org: ORG, output: 'elf', name: 'xorshift multiboot32' });
  return patchParams(bytes, iterations, mode);
}

const referenceCache = new Map<number, { state: number; acc: number }>();

/** Expected (eax, edi) after `iterations` iterations, starting from a zeroed buffer. */
export function reference(iterations: number): { state: number; acc: number } {
  const cached = referenceCache.get(iterations);
  if (cached) return cached;
  const buf = new Uint32Array(BUF_SIZE / 4);
  let x = SEED >>> 0;
  let acc = 0;
  for (let i = 0; i < iterations; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    const idx = (x & (BUF_SIZE - 4)) >>> 2;
    acc = (acc + buf[idx]) >>> 0;
    buf[idx] = x;
  }
  const result = { state: x, acc };
  referenceCache.set(iterations, result);
  return result;
}
