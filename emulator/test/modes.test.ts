// Interrupt delivery outside long mode (real-mode IVT, 32-bit IDT gates with a 32-bit TSS),
// compatibility mode, FS/GS bases with SWAPGS, and string port I/O.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../scripts/lib/gas.ts';
import { createRawMachine } from '../raw-machine.ts';
import type { CpuBus } from '../cpu.ts';

test('real mode: INT n goes through the IVT, pushes FLAGS/CS/IP, IRET returns', async () => {
  const { bytes, symbols } = assemble(`
  .code16
  _start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word ptr [0x21 * 4], offset handler
    mov word ptr [0x21 * 4 + 2], 0
    stc
    int 0x21
  back:
    mov si, sp
    hlt
  handler:
    mov bp, sp
    mov bx, [bp]        /* IP */
    mov cx, [bp + 2]    /* CS */
    mov dx, [bp + 4]    /* FLAGS */
    iret
  `, { bits: 64, org: 0x8000, output: 'raw' });
  const m = await createRawMachine({ memMiB: 1, bits: 16 });
  m.load(bytes, 0x8000);
  m.cpu.set({ raw: 0 });
  m.setRip(0x8000);
  // setRip picks CS = 0x800 for 0x8000; the IVT handler address is in segment 0, so use CS=0.
  m.cpu.setSegment('cs', { sel: 0, base: 0n, limit: 0xffff, attr: 0x9b });
  m.cpu.set({ rip: 0x8000n });
  const r = m.run(100);
  assert.equal(r.exit, 'hlt');
  const g = m.regs();
  assert.equal(g.rbx! & 0xffffn, BigInt(symbols.get('back')!), 'pushed IP is after INT');
  assert.equal(g.rcx! & 0xffffn, 0n, 'pushed CS');
  assert.equal(g.rdx! & 1n, 1n, 'pushed FLAGS has CF');
  assert.equal(g.rsi! & 0xffffn, 0x7000n, 'IRET popped the 3 words');
});

test('32-bit protected mode: interrupt gate from ring 3 switches to SS0:ESP0 of a 32-bit TSS', async () => {
  const { bytes, symbols } = assemble(`
  .code32
  _start:
    lgdt [gdtr]
    lidt [idtr]
    mov ax, 0x28
    ltr ax
    mov ax, 0x10
    mov ss, ax
    mov esp, 0x90000
    push 0x23            /* user SS (0x20 | 3) */
    push 0x80000         /* user ESP */
    push 0x202
    push 0x1b            /* user CS (0x18 | 3) */
    push offset user
    iretd
  user:
    int 0x30
  after:
    mov edi, esp
    int 0x31             /* DPL 0 gate from ring 3: #GP */
  handler:
    mov ebx, [esp]       /* EIP */
    mov ecx, [esp + 4]   /* CS */
    mov edx, [esp + 12]  /* ESP */
    mov esi, [esp + 16]  /* SS */
    mov ebp, esp
    iretd
  gp_handler:
    mov eax, [esp]       /* error code */
    hlt
  .p2align 3
  gdt:
    .quad 0
    .quad 0x00cf9b000000ffff   /* 08 kernel code */
    .quad 0x00cf93000000ffff   /* 10 kernel data */
    .quad 0x00cffb000000ffff   /* 18 user code */
    .quad 0x00cff3000000ffff   /* 20 user data */
  tss_desc:
    .word 0x67, 0            /* 28: 32-bit TSS, base patched by the test */
    .byte 0, 0x89, 0, 0
  gdtr:
    .word 0x2f
    .long gdt
  idtr:
    .word 0x31 * 8 + 7
    .long 0x70000
  `, { bits: 32, org: 0x100000, output: 'raw' });
  const m = await createRawMachine({ memMiB: 4, bits: 32 });
  m.load(bytes, 0x100000);
  const dv = new DataView(m.mem.buffer, m.mem.byteOffset);
  const tss = 0x60000;
  dv.setUint32(tss + 4, 0x70ff0, true);   // ESP0
  dv.setUint32(tss + 8, 0x10, true);      // SS0
  const td = symbols.get('tss_desc')!;
  dv.setUint16(td + 2, tss & 0xffff, true);
  dv.setUint8(td + 4, (tss >> 16) & 0xff);
  const gate = (v: number, h: number, dpl: number) => {
    dv.setUint16(0x70000 + v * 8, h & 0xffff, true);
    dv.setUint16(0x70000 + v * 8 + 2, 0x08, true);
    dv.setUint8(0x70000 + v * 8 + 5, 0x8e | (dpl << 5));
    dv.setUint16(0x70000 + v * 8 + 6, h >>> 16, true);
  };
  gate(0x30, symbols.get('handler')!, 3);
  gate(0x31, symbols.get('handler')!, 0);
  gate(13, symbols.get('gp_handler')!, 0);
  m.cpu.set({ raw: 0 });
  m.setRip(0x100000);
  const r = m.run(1000);
  assert.equal(r.exit, 'hlt', JSON.stringify(r));
  const g = m.regs();
  assert.equal(g.rbx, BigInt(symbols.get('after')!), 'saved EIP');
  assert.equal(g.rcx, 0x1bn, 'saved user CS');
  assert.equal(g.rdx, 0x80000n, 'saved user ESP');
  assert.equal(g.rsi, 0x23n, 'saved user SS');
  assert.equal(g.rbp, 0x70ff0n - 20n, '5-dword frame on the ESP0 stack');
  assert.equal(g.rdi, 0x80000n, 'IRETD restored the user stack');
  assert.equal(g.rax, BigInt(0x31 * 8 + 2), '#GP error code names the IDT entry');
});

test('compatibility mode: far jump to a 32-bit segment in long mode and back', async () => {
  const { bytes } = assemble(`
  _start:
    lgdt [rip + gdtr]
    mov rsp, 0x90000
    lea rax, [rip + compat]
    push 0x18
    push rax
    retfq                /* to 32-bit code, still in long mode */
  .code32
  compat:
    mov eax, 0xffffffff
    inc eax              /* 32-bit INC (0x40): opcode is REX in 64-bit mode */
    mov ebx, eax
    push 0x08
    push offset back64
    retf
  .code64
  back64:
    mov rcx, 0x100000000
    hlt
  .p2align 3
  gdt:
    .quad 0, 0x00af9b000000ffff, 0x00cf93000000ffff, 0x00cf9b000000ffff
  gdtr:
    .word 31
    .quad gdt
  `, { bits: 64, org: 0x100000, output: 'raw' });
  const m = await createRawMachine({ memMiB: 16, bits: 64 });
  m.load(bytes, 0x100000);
  m.setRip(0x100000);
  const r = m.run(100);
  assert.equal(r.exit, 'hlt', JSON.stringify(r));
  const g = m.regs();
  assert.equal(g.rbx, 0n, 'INC EAX wrapped to 0 in compatibility mode');
  assert.equal(g.rcx, 0x100000000n, 'back in 64-bit mode');
  assert.equal(m.cpu.getSegment('cs').sel, 0x08);
});

test('FS/GS bases from MSRs address memory, SWAPGS exchanges GS base with KERNEL_GS_BASE', async () => {
  const { bytes } = assemble(`
    mov ecx, 0xc0000100       /* FS_BASE = 0x200000 */
    mov eax, 0x200000
    xor edx, edx
    wrmsr
    mov ecx, 0xc0000102       /* KERNEL_GS_BASE = 0x300000 */
    mov eax, 0x300000
    wrmsr
    mov qword ptr [0x200010], 0x1111
    mov qword ptr [0x300010], 0x2222
    mov rax, fs:[0x10]
    swapgs
    mov rbx, gs:[0x10]
    mov ecx, 0xc0000101
    rdmsr
    mov r8, rax
    mov rax, fs:[0x10]
    hlt
  `, { bits: 64, org: 0x100000, output: 'raw' });
  const m = await createRawMachine({ memMiB: 16, bits: 64 });
  m.load(bytes, 0x100000);
  m.setRip(0x100000);
  const r = m.run(100);
  assert.equal(r.exit, 'hlt');
  const g = m.regs();
  assert.equal(g.rax, 0x1111n);
  assert.equal(g.rbx, 0x2222n);
  assert.equal(g.r8, 0x300000n, 'GS_BASE after SWAPGS');
});

test('REP OUTSB / REP INSW move strings through the port bus', async () => {
  const out: number[] = [];
  let n = 0;
  const bus: CpuBus = {
    pioRead: (_p, size) => (size === 2 ? 0x4100 + n++ : 0),
    pioWrite: (_p, _s, v) => { out.push(v); },
    mmioRead: () => 0n,
    mmioWrite: () => {},
  };
  const { bytes } = assemble(`
    lea rsi, [rip + msg]
    mov ecx, 5
    mov dx, 0x3f8
    rep outsb
    mov rdi, 0x200000
    mov ecx, 3
    mov dx, 0x1f0
    rep insw
    mov rax, [0x200000]
    hlt
  msg:
    .ascii "hello"
  `, { bits: 64, org: 0x100000, output: 'raw' });
  const m = await createRawMachine({ memMiB: 16, bits: 64, bus });
  m.load(bytes, 0x100000);
  m.setRip(0x100000);
  const r = m.run(100);
  assert.equal(r.exit, 'hlt');
  assert.equal(String.fromCharCode(...out), 'hello');
  assert.equal(m.regs().rax, 0x0000410241014100n);
  assert.equal(m.regs().rcx, 0n);
});
