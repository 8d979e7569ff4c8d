// LAPIC modes and exception escalation, driven by guest code (scaffolding in guest-env.ts). Timer expectations follow from guest time = retired instructions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, runToHlt } from './guest-env.ts';

test('LAPIC one-shot timer fires exactly once, at the programmed guest time', async () => {
  const e = await setup(`
  _start:
    mov rsp, 0x380000
    mov rdi, 0xfee00000
    mov dword ptr [rdi + 0xf0], 0x1ff
    mov dword ptr [rdi + 0x3e0], 0x3      /* divide by 16 */
    mov dword ptr [rdi + 0x320], 0x41     /* one-shot, vector 0x41 */
    rdtsc
    mov r14, rax
    mov dword ptr [rdi + 0x380], 100      /* 100 * 16 = 1600 ticks */
    sti
  spin:
    cmp r12, 0
    je spin
    mov ecx, 20000                        /* keep running: a second interrupt must not come */
  more:
    dec ecx
    jnz more
    cli
    hlt
  isr_65:
    inc r12
    rdtsc
    mov r13, rax
    mov dword ptr [rdi + 0xb0], 0
    iretq
  `);
  const g = runToHlt(e, 1_000_000);
  assert.equal(g.r12, 1n, 'exactly one interrupt');
  const delay = g.r13! - g.r14!;
  assert.ok(delay >= 1600n && delay < 1620n, `interrupt ~1600 ticks after arming, got ${delay}`);
});

test('TSC-deadline mode: the interrupt arrives when the TSC passes IA32_TSC_DEADLINE, which then reads 0', async () => {
  const e = await setup(`
  _start:
    mov rsp, 0x380000
    mov rdi, 0xfee00000
    mov dword ptr [rdi + 0xf0], 0x1ff
    mov dword ptr [rdi + 0x320], 0x40042  /* TSC-deadline, vector 0x42 */
    rdtsc
    shl rdx, 32
    or rax, rdx
    lea rbx, [rax + 5000]
    mov rax, rbx
    mov rdx, rbx
    shr rdx, 32
    mov ecx, 0x6e0
    wrmsr
    sti
  wait:
    hlt                                   /* idles until the deadline */
    cmp r12, 0
    je wait
    mov ecx, 0x6e0
    rdmsr
    mov r14, rax
    cli
    hlt
  isr_66:
    inc r12
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r13, rax
    mov dword ptr [rdi + 0xb0], 0
    iretq
  `);
  e.m.cpu.haltEndsRun = false;
  const g = runToHlt(e, 100_000);
  assert.equal(g.r12, 1n);
  assert.ok(g.r13! >= g.rbx! && g.r13! < g.rbx! + 20n, `TSC at the interrupt ${g.r13} vs deadline ${g.rbx}`);
  assert.equal(g.r14, 0n, 'IA32_TSC_DEADLINE is cleared when it fires');
});

test('self-IPI through the ICR is delivered; TPR holds back a lower-priority vector until lowered', async () => {
  const e = await setup(`
  _start:
    mov rsp, 0x380000
    mov rdi, 0xfee00000
    mov dword ptr [rdi + 0xf0], 0x1ff
    sti
    mov dword ptr [rdi + 0x80], 0x50      /* TPR class 5 */
    mov dword ptr [rdi + 0x300], 0x40043  /* self IPI, vector 0x43 (class 4): blocked */
    nop
    nop
    mov r14, r12                          /* still 0 */
    mov dword ptr [rdi + 0x80], 0         /* lower TPR: now delivered */
    nop
    mov r13, r12
    cli
    hlt
  isr_67:
    inc r12
    mov dword ptr [rdi + 0xb0], 0
    iretq
  `);
  const g = runToHlt(e, 10_000);
  assert.equal(g.r14, 0n, 'blocked by TPR');
  assert.equal(g.r13, 1n, 'delivered once TPR is lowered');
});

test('#PF with a not-present #PF gate escalates to #DF (error code 0) on its IST stack', async () => {
  const e = await setup(`
  _start:
    mov rsp, 0x380000
    mov ax, 0x30
    ltr ax
    mov rax, [0x4000000]                  /* not present: #PF -> gate 14 not present -> #NP -> #DF */
    hlt
  isr_8:
  ist_8:
    mov r12, [rsp]                        /* #DF error code */
    mov r13, rsp
    mov r14, cr2
    hlt
  `);
  // Clear the present bit of IDT[14] and the PDE that maps 64 MiB.
  const idt14 = 0x300000 + 14 * 16;
  e.dv.setUint8(idt14 + 5, e.dv.getUint8(idt14 + 5) & 0x7f);
  e.dv.setBigUint64(e.m.systemArea + 0x2000 + 32 * 8, 0n, true);
  const g = runToHlt(e, 1000);
  assert.equal(g.r12, 0n, '#DF pushes error code 0');
  assert.equal(g.r13, BigInt(0x350000 - 48), '#DF frame (with error code) on the IST1 stack');
  assert.equal(g.r14, 0x4000000n, 'CR2 from the original #PF');
});
