// Targeted tests of the system architecture: mode switches, paging and #PF, interrupt and
// exception frames (IDT, TSS stacks, IST), SYSCALL/SYSRET, and the LAPIC timer. Guest code is
// assembled with GNU as at test time; expected values come from the SDM's definitions of the
// frames and error codes, checked in the guest's own registers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../scripts/lib/gas.ts';
import { createRawMachine } from '../raw-machine.ts';
import { setup, runToHlt, CODE, KSTACK, ISTSTACK, type Env } from './guest-env.ts';

const reg = (e: Env, n: string) => e.m.regs()[n]!;

test('real mode -> protected mode -> long mode, as a boot stub does', async () => {
  // A 16-bit entry builds a GDT, enables PE, far-jumps to 32-bit code, builds PAE tables,
  // sets EFER.LME and CR0.PG, far-jumps to 64-bit code.
  const src = `
  .code16
  _start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    lgdt [gdtr - 0x100000 + 0x0]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    .byte 0x66, 0xea
    .long pm32
    .word 0x18
  .code32
  pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x90000
    /* identity map the first 1 GiB with 2 MiB pages at 0x200000 */
    mov edi, 0x200000
    mov ecx, 0x3000 / 4
    xor eax, eax
    rep stosd
    mov dword ptr [0x200000], 0x201003
    mov dword ptr [0x201000], 0x202003
    mov edi, 0x202000
    mov eax, 0x83
    mov ecx, 512
  fill:
    mov [edi], eax
    mov dword ptr [edi + 4], 0
    add eax, 0x200000
    add edi, 8
    loop fill
    mov eax, 0x200000
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    ljmp 0x08, offset lm64
  .code64
  lm64:
    mov ecx, 0xc0000080
    rdmsr
    mov r15, rax
    mov rax, 0x123456789abcdef0
    mov rbx, rax
    shr rbx, 32
    hlt
  .p2align 3
  gdt:
    .quad 0, 0x00af9b000000ffff, 0x00cf93000000ffff, 0x00cf9b000000ffff
  gdtr:
    .word 31
    .long gdt
  `;
  // The 16-bit code runs with CS = 0x1000 base? No: load it at 0x8000 where real mode reaches it.
  const { bytes, symbols } = assemble(src.replace('[gdtr - 0x100000 + 0x0]', '[gdtr]'), { bits: 64, org: 0x8000, output: 'raw', name: 'mode switch' });
  const m = await createRawMachine({ memMiB: 16, bits: 16 });
  m.load(bytes, 0x8000);
  m.setRip(symbols.get('_start')!);
  const r = m.run(100000);
  assert.equal(r.exit, 'hlt', JSON.stringify(r));
  const regs = m.regs();
  assert.equal(regs.rax, 0x123456789abcdef0n);
  assert.equal(regs.rbx, 0x12345678n);
  assert.equal(regs.r15! & 0x500n, 0x500n, 'EFER.LME and EFER.LMA set');
  assert.equal(m.cpu.getSegment('cs').sel, 0x08);
});

test('#PF error codes and CR2: not present, write to read-only, user to supervisor, NX fetch', async () => {
  // The #PF handler stores CR2 and the error code, skips the faulting instruction by resuming at
  // the address in r14, and the main code tries one access per case.
  const src = `
  _start:
    mov rsp, 0x380000
    /* case 1: read a not-present page (PDE for 64 MiB cleared by the test) */
    lea r14, [rip + after1]
    mov rax, [0x4000000]
  after1:
    mov r8, r12
    mov r9, r13
    /* case 2: supervisor write to a read-only page with CR0.WP = 1 */
    lea r14, [rip + after2]
    mov qword ptr [0x4200008], 1
  after2:
    mov r10, r12
    mov r11, r13
    /* case 3: fetch from an NX page */
    lea r14, [rip + after3]
    mov rax, 0x4400000
    call rax
  after3:
    mov rbx, r12
    mov rcx, r13
    hlt
  isr_14:
    pop r13          /* error code */
    mov r12, cr2
    mov [rsp], r14   /* resume at r14 */
    iretq
  `;
  const e = await setup(src);
  const sys = e.m.systemArea;
  const pd = sys + 0x2000;
  const setPde = (gib: number, mib: number, flags: bigint) => {
    const idx = gib * 512 + mib / 2;
    e.dv.setBigUint64(pd + idx * 8, (BigInt(mib) << 20n) | flags, true);
  };
  setPde(0, 64, 0n);                 // not present
  setPde(0, 66, 0x81n);              // present, read-only
  setPde(0, 68, 0x83n | (1n << 63n)); // NX (EFER.NXE is set by the raw machine)
  runToHlt(e, 10000);
  assert.equal(reg(e, 'r8'), 0x4000000n, 'CR2 for not-present read');
  assert.equal(reg(e, 'r9'), 0n, 'error code: not present, read, supervisor');
  assert.equal(reg(e, 'r10'), 0x4200008n);
  assert.equal(reg(e, 'r11'), 3n, 'error code: present + write');
  assert.equal(reg(e, 'rbx'), 0x4400000n);
  assert.equal(reg(e, 'rcx'), 0x11n, 'error code: present + instruction fetch');
});

test('ring 3 -> interrupt: stack from TSS.RSP0, full frame; #DF-style IST stack; IRETQ back to ring 3', async () => {
  const src = `
  _start:
    mov rsp, 0x380000
    mov ax, 0x30
    ltr ax
    /* enter ring 3 with IRETQ */
    push 0x23            /* SS = user data | 3 */
    push 0x9ff000        /* user RSP */
    push 0x202           /* RFLAGS with IF */
    push 0x2b            /* CS = user code64 | 3 */
    lea rax, [rip + user]
    push rax
    iretq
  user:
    mov r12, 0x1111
    int 0x80
  after_int:
    mov r13, rsp         /* back in ring 3 with the user stack */
    mov r14w, cs
    int 0x81             /* via IST1 */
    ud2
  isr_128:
  user_128:
    mov rbx, rsp                 /* kernel stack (RSP0-based) */
    mov rsi, [rsp]               /* RIP */
    mov rdi, [rsp + 8]           /* CS */
    mov r8,  [rsp + 16]          /* RFLAGS */
    mov r9,  [rsp + 24]          /* RSP */
    mov r10, [rsp + 32]          /* SS */
    iretq
  isr_129:
  user_129:
  ist_129:
    mov r15, rsp
    hlt
  `;
  const e = await setup(src, { userPages: true });
  runToHlt(e, 10000);
  assert.equal(reg(e, 'rbx'), BigInt(KSTACK - 40), 'frame of 5 qwords on the RSP0 stack');
  assert.equal(reg(e, 'rsi'), BigInt(e.sym.get('after_int')!), 'saved RIP is after INT 0x80');
  assert.equal(reg(e, 'rdi'), 0x2bn, 'saved CS is the user selector');
  assert.equal(reg(e, 'r8') & 0x200n, 0x200n, 'saved RFLAGS.IF');
  assert.equal(reg(e, 'r9'), 0x9ff000n, 'saved user RSP');
  assert.equal(reg(e, 'r10'), 0x23n, 'saved user SS');
  assert.equal(reg(e, 'r13'), 0x9ff000n, 'IRETQ restored the user stack');
  assert.equal(reg(e, 'r14') & 0xffffn, 0x2bn, 'IRETQ returned to ring 3');
  assert.equal(reg(e, 'r15'), BigInt(ISTSTACK - 40), 'IST1 stack used for vector 0x81');
});

test('ring 3 touching a supervisor page gets #PF with U/S error bits; INT to a DPL0 gate is #GP', async () => {
  const src = `
  _start:
    mov rsp, 0x380000
    mov ax, 0x30
    ltr ax
    push 0x23
    push 0x9ff000
    push 0x2
    push 0x2b
    lea rax, [rip + user]
    push rax
    iretq
  user:
    lea r14, [rip + next]
    mov rax, [0x600000]      /* 6 MiB: supervisor-only 2 MiB page */
  next:
    lea r14, [rip + done]
    int 0x40                 /* gate DPL 0: #GP(0x40*8+2) */
  done:
    hlt                      /* #GP at CPL 3: handled below */
  isr_14:
    pop r13
    mov r12, cr2
    mov [rsp], r14
    iretq
  isr_13:
    pop rbx
    cmp rbx, 0
    je stop
    mov rcx, rbx
    mov [rsp], r14
    iretq
  stop:
    hlt
  `;
  const e = await setup(src, { userPages: true });
  runToHlt(e, 10000);
  assert.equal(reg(e, 'r12'), 0x600000n);
  assert.equal(reg(e, 'r13'), 5n, 'error code: present + user, read');
  assert.equal(reg(e, 'rcx'), BigInt(0x40 * 8 + 2), '#GP error code names the IDT entry');
  assert.equal(reg(e, 'rbx'), 0n, 'HLT at CPL 3 is #GP(0)');
});

test('SYSCALL / SYSRET: RCX, R11, selectors from STAR, RFLAGS masked by SFMASK', async () => {
  const src = `
  _start:
    mov ecx, 0xc0000080
    rdmsr
    or eax, 1                /* EFER.SCE */
    wrmsr
    mov ecx, 0xc0000081      /* STAR: kernel CS 0x08, user base 0x18 */
    xor eax, eax
    mov edx, 0x00180008
    wrmsr
    mov ecx, 0xc0000082      /* LSTAR */
    lea rax, [rip + kentry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xc0000084      /* SFMASK: clear IF and DF */
    mov eax, 0x600
    xor edx, edx
    wrmsr
    lea rcx, [rip + user]
    mov r11, 0x602           /* user RFLAGS: IF | DF */
    mov rsp, 0x9ff000        /* user stack */
    sysretq
  user:
    mov r12w, cs
    mov r13w, ss
    pushfq
    pop r14
    syscall
  after_syscall:
    hlt
  kentry:
    mov rbx, rcx             /* return RIP */
    mov rsi, r11             /* user RFLAGS */
    pushfq
    pop rdi                  /* kernel RFLAGS after SFMASK */
    mov r8w, cs
    mov r9w, ss
    hlt
  `;
  const e = await setup(src, { userPages: true });
  runToHlt(e, 10000);
  assert.equal(reg(e, 'r12') & 0xffffn, 0x2bn, 'SYSRET CS = STAR[63:48] + 16 | 3');
  assert.equal(reg(e, 'r13') & 0xffffn, 0x23n, 'SYSRET SS = STAR[63:48] + 8 | 3');
  assert.equal(reg(e, 'r14') & 0x600n, 0x600n, 'SYSRET loaded RFLAGS from R11');
  assert.equal(reg(e, 'rbx'), BigInt(e.sym.get('after_syscall')!), 'SYSCALL saves RIP in RCX');
  assert.equal(reg(e, 'rsi') & 0x600n, 0x600n, 'SYSCALL saves RFLAGS in R11');
  assert.equal(reg(e, 'rdi') & 0x600n, 0n, 'SFMASK cleared IF and DF');
  assert.equal(reg(e, 'r8') & 0xffffn, 0x08n);
  assert.equal(reg(e, 'r9') & 0xffffn, 0x10n);
});

test('#UD for an undefined opcode and #GP for a non-canonical address stop a raw run', async () => {
  const ud = await setup('_start:\n .byte 0x0f, 0xff\n', { deliver: false });
  const r1 = ud.m.run(10);
  assert.equal(r1.exit, 'exception');
  assert.equal(r1.exception?.vector, 6);
  const gp = await setup('_start:\n mov rax, 0x800000000000\n mov rbx, [rax]\n', { deliver: false });
  const r2 = gp.m.run(10);
  assert.deepEqual(r2.exception, { vector: 13, error_code: 0 });
  assert.equal(gp.m.regs().rip, BigInt(CODE + 10), 'RIP of the faulting instruction');
});

test('an exception with no usable IDT escalates to a triple fault', async () => {
  const e = await setup('_start:\n xor ecx, ecx\n div ecx\n');
  e.m.cpu.set({ idtr_limit: 0 });
  const r = e.m.run(10);
  assert.equal(r.exit, 'triple_fault');
  assert.match(r.reason ?? '', /triple fault/);
});

test('LAPIC periodic timer: interrupts arrive at deterministic guest times; HLT idles to them', async () => {
  const src = `
  _start:
    mov rsp, 0x380000
    mov rdi, 0xfee00000
    mov dword ptr [rdi + 0xf0], 0x1ff    /* SVR: enable, spurious 0xff */
    mov dword ptr [rdi + 0x3e0], 0xb     /* divide by 1 */
    mov dword ptr [rdi + 0x320], 0x20040 /* periodic, vector 0x40 */
    mov dword ptr [rdi + 0x380], 5000    /* initial count */
    sti
  wait:
    hlt
    cmp r12, 3
    jb wait
    mov dword ptr [rdi + 0x320], 0x10040 /* mask */
    rdtsc
    mov r13, rax
    cli
    hlt
  isr_64:
    inc r12
    mov dword ptr [rdi + 0xb0], 0        /* EOI */
    iretq
  `;
  const runOnce = async () => {
    const e = await setup(src);
    e.m.cpu.haltEndsRun = false;
    runToHlt(e, 1_000_000);
    return { r12: reg(e, 'r12'), r13: reg(e, 'r13'), insns: e.m.cpu.instructions };
  };
  const a = await runOnce();
  const b = await runOnce();
  assert.equal(a.r12, 3n, 'three periodic timer interrupts');
  assert.ok(a.r13 >= 15000n && a.r13 < 16000n, `TSC after 3 periods of 5000 ticks: ${a.r13}`);
  assert.equal(a.r13, b.r13, 'same guest time on every run');
  assert.equal(a.insns, b.insns);
});
