/*
 * jinx differential-test harness: register load / snippet entry / epilogue.
 *
 * Layout of struct jx_regs (must match harness.c):
 *   0   u64 gpr[16]   rax rcx rdx rbx rsp rbp rsi rdi r8..r15
 *   128 u64 rflags
 *   136 u64 pad
 *   144 u8  xmm[16][16]
 *   400 u32 mxcsr
 */
        .intel_syntax noprefix

        .set GPR, 0
        .set RFL, 128
        .set XMM, 144
        .set MXC, 400

        .bss
        .balign 64
        .globl jx_in
jx_in:  .skip 416
        .globl jx_out
jx_out: .skip 416
jx_host_rsp:
        .skip 8
        .globl jx_code_ptr
jx_code_ptr:
        .skip 8
        .balign 64
jx_stack:
        .skip 4096
jx_stack_top:

        .data
jx_default_mxcsr:
        .long 0x1f80

        .text
/* void jx_run(void): loads jx_in, jumps to *jx_code_ptr; the snippet returns
 * to jx_epilogue which stores the state to jx_out and returns to our caller. */
        .globl jx_run
        .type jx_run, @function
jx_run:
        push rbp
        push rbx
        push r12
        push r13
        push r14
        push r15
        mov [rip + jx_host_rsp], rsp
        lea rax, [rip + jx_in]
        movdqu xmm0,  [rax + XMM + 0*16]
        movdqu xmm1,  [rax + XMM + 1*16]
        movdqu xmm2,  [rax + XMM + 2*16]
        movdqu xmm3,  [rax + XMM + 3*16]
        movdqu xmm4,  [rax + XMM + 4*16]
        movdqu xmm5,  [rax + XMM + 5*16]
        movdqu xmm6,  [rax + XMM + 6*16]
        movdqu xmm7,  [rax + XMM + 7*16]
        movdqu xmm8,  [rax + XMM + 8*16]
        movdqu xmm9,  [rax + XMM + 9*16]
        movdqu xmm10, [rax + XMM + 10*16]
        movdqu xmm11, [rax + XMM + 11*16]
        movdqu xmm12, [rax + XMM + 12*16]
        movdqu xmm13, [rax + XMM + 13*16]
        movdqu xmm14, [rax + XMM + 14*16]
        movdqu xmm15, [rax + XMM + 15*16]
        ldmxcsr [rax + MXC]
        push qword ptr [rax + RFL]
        popfq                           /* from here on: only flag-neutral insns */
        mov rcx, [rax + GPR + 1*8]
        mov rdx, [rax + GPR + 2*8]
        mov rbx, [rax + GPR + 3*8]
        mov rsp, [rax + GPR + 4*8]
        mov rbp, [rax + GPR + 5*8]
        mov rsi, [rax + GPR + 6*8]
        mov rdi, [rax + GPR + 7*8]
        mov r8,  [rax + GPR + 8*8]
        mov r9,  [rax + GPR + 9*8]
        mov r10, [rax + GPR + 10*8]
        mov r11, [rax + GPR + 11*8]
        mov r12, [rax + GPR + 12*8]
        mov r13, [rax + GPR + 13*8]
        mov r14, [rax + GPR + 14*8]
        mov r15, [rax + GPR + 15*8]
        mov rax, [rax + GPR + 0*8]
        jmp qword ptr [rip + jx_code_ptr]
        .size jx_run, . - jx_run

        .globl jx_epilogue
        .type jx_epilogue, @function
jx_epilogue:
        mov [rip + jx_out + GPR + 4*8], rsp
        lea rsp, [rip + jx_stack_top]   /* private stack: never touches the data page */
        pushfq
        mov [rip + jx_out + GPR + 0*8], rax
        mov [rip + jx_out + GPR + 1*8], rcx
        mov [rip + jx_out + GPR + 2*8], rdx
        mov [rip + jx_out + GPR + 3*8], rbx
        mov [rip + jx_out + GPR + 5*8], rbp
        mov [rip + jx_out + GPR + 6*8], rsi
        mov [rip + jx_out + GPR + 7*8], rdi
        mov [rip + jx_out + GPR + 8*8], r8
        mov [rip + jx_out + GPR + 9*8], r9
        mov [rip + jx_out + GPR + 10*8], r10
        mov [rip + jx_out + GPR + 11*8], r11
        mov [rip + jx_out + GPR + 12*8], r12
        mov [rip + jx_out + GPR + 13*8], r13
        mov [rip + jx_out + GPR + 14*8], r14
        mov [rip + jx_out + GPR + 15*8], r15
        pop rax
        mov [rip + jx_out + RFL], rax
        movdqu [rip + jx_out + XMM + 0*16], xmm0
        movdqu [rip + jx_out + XMM + 1*16], xmm1
        movdqu [rip + jx_out + XMM + 2*16], xmm2
        movdqu [rip + jx_out + XMM + 3*16], xmm3
        movdqu [rip + jx_out + XMM + 4*16], xmm4
        movdqu [rip + jx_out + XMM + 5*16], xmm5
        movdqu [rip + jx_out + XMM + 6*16], xmm6
        movdqu [rip + jx_out + XMM + 7*16], xmm7
        movdqu [rip + jx_out + XMM + 8*16], xmm8
        movdqu [rip + jx_out + XMM + 9*16], xmm9
        movdqu [rip + jx_out + XMM + 10*16], xmm10
        movdqu [rip + jx_out + XMM + 11*16], xmm11
        movdqu [rip + jx_out + XMM + 12*16], xmm12
        movdqu [rip + jx_out + XMM + 13*16], xmm13
        movdqu [rip + jx_out + XMM + 14*16], xmm14
        movdqu [rip + jx_out + XMM + 15*16], xmm15
        stmxcsr [rip + jx_out + MXC]
        cld
        ldmxcsr [rip + jx_default_mxcsr]
        mov rsp, [rip + jx_host_rsp]
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbx
        pop rbp
        ret
        .size jx_epilogue, . - jx_epilogue

        .section .note.GNU-stack, "", @progbits
