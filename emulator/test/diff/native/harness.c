/*
 * jinx differential-test harness (native oracle).
 *
 * usage: harness IN OUT
 *
 * Runs a batch of machine-code snippets on the host CPU with a fully
 * specified register state and a 4 KiB data page, and records the final
 * state (or the fault state) of each.  Code lives at CODE_ADDR, data at
 * DATA_ADDR (the page after it is mapped and zero), exactly like the
 * emulator's SnippetRunner.
 *
 * Input (little endian):
 *   "JXI1" u32 npages u32 ncases u32 0
 *   npages * 4096 bytes (base data pages)
 *   per case:
 *     u32 code_len u32 page u32 mxcsr u32 npatch
 *     u64 rflags u64 gpr[16] u64 xmm[32]
 *     u8 code[code_len]
 *     npatch * { u16 off u16 len u8 bytes[len] }   (applied over the base page)
 *
 * Output:
 *   "JXO1" u32 ncases u64 0
 *   per case:
 *     u32 kind (0 finished, 1 cpu exception, 2 harness fault, 3 timeout)
 *     u32 signo u32 trapno u32 err
 *     u64 cr2 u64 rip u64 rflags u64 gpr[16] u64 xmm[32]
 *     u32 mxcsr u32 flags (bit0: page after the data page was written)
 *     u32 ndiff u32 0
 *     ndiff * { u16 off u16 len u8 bytes[len] }    (final data page vs initial)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x100000UL
#define CODE_SIZE 0x10000UL
#define DATA_ADDR 0x200000UL
#define PAGE 4096UL
#define MAX_CODE (CODE_SIZE - 64)

struct jx_regs {
    uint64_t gpr[16];
    uint64_t rflags;
    uint64_t pad;
    uint8_t xmm[16][16];
    uint32_t mxcsr;
    uint32_t pad2[3];
};
_Static_assert(sizeof(struct jx_regs) == 416, "layout shared with entry.S");

extern struct jx_regs jx_in, jx_out;
extern uint64_t jx_code_ptr;
extern void jx_run(void);
extern void jx_epilogue(void);

static sigjmp_buf fault_env;
static volatile sig_atomic_t in_case;
static volatile uint32_t f_kind, f_signo, f_trapno, f_err;
static volatile uint64_t f_cr2;
static volatile uint64_t case_serial, wd_last_serial, wd_ticks;

static void die(const char *msg) {
    fprintf(stderr, "harness: %s (errno %d: %s)\n", msg, errno, strerror(errno));
    exit(2);
}

static int rip_in_snippet(uint64_t rip) {
    return rip >= CODE_ADDR && rip < CODE_ADDR + CODE_SIZE;
}

static void capture(ucontext_t *uc) {
    greg_t *g = uc->uc_mcontext.gregs;
    static const int map[16] = {
        REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
        REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
    };
    for (int i = 0; i < 16; i++) jx_out.gpr[i] = (uint64_t)g[map[i]];
    jx_out.rflags = (uint64_t)g[REG_EFL];
    jx_out.pad = (uint64_t)g[REG_RIP];
    f_trapno = (uint32_t)g[REG_TRAPNO];
    f_err = (uint32_t)g[REG_ERR];
    f_cr2 = (uint64_t)g[REG_CR2];
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (fp) {
        memcpy(jx_out.xmm, fp->_xmm, sizeof jx_out.xmm);
        jx_out.mxcsr = fp->mxcsr;
    } else {
        memset(jx_out.xmm, 0, sizeof jx_out.xmm);
        jx_out.mxcsr = 0;
    }
}

static void on_fault(int sig, siginfo_t *si, void *ucv) {
    (void)si;
    ucontext_t *uc = ucv;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    if (!in_case) {
        static const char m[] = "harness: fault outside of a test case\n";
        write(2, m, sizeof m - 1);
        _exit(3);
    }
    capture(uc);
    f_signo = (uint32_t)sig;
    f_kind = rip_in_snippet(rip) ? 1 : 2;
    in_case = 0;
    siglongjmp(fault_env, 1);
}

/* Watchdog: a case that runs for more than ~1s (e.g. LOOP with rcx=0) is aborted. */
static void on_alarm(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    if (!in_case) { wd_ticks = 0; return; }
    if (case_serial != wd_last_serial) { wd_last_serial = case_serial; wd_ticks = 0; return; }
    if (++wd_ticks < 5) return;
    if (!rip_in_snippet((uint64_t)uc->uc_mcontext.gregs[REG_RIP])) return;
    capture(uc);
    f_signo = SIGALRM;
    f_kind = 3;
    in_case = 0;
    siglongjmp(fault_env, 1);
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) die("cannot open input");
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) die("oom");
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die("oom");
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    if (f != stdin) fclose(f);
    *len = n;
    return buf;
}

struct reader { const uint8_t *p, *end; };

static const void *take(struct reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) {
        fprintf(stderr, "harness: truncated input\n");
        exit(2);
    }
    const void *p = r->p;
    r->p += n;
    return p;
}
static uint32_t take32(struct reader *r) { uint32_t v; memcpy(&v, take(r, 4), 4); return v; }
static uint16_t take16(struct reader *r) { uint16_t v; memcpy(&v, take(r, 2), 2); return v; }

static void put(FILE *f, const void *p, size_t n) {
    if (fwrite(p, 1, n, f) != n) die("write failed");
}
static void put32(FILE *f, uint32_t v) { put(f, &v, 4); }
static void put64(FILE *f, uint64_t v) { put(f, &v, 8); }
static void put16(FILE *f, uint16_t v) { put(f, &v, 2); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN OUT   ('-' for stdin/stdout)\n", argv[0]);
        return 2;
    }
    size_t in_len;
    uint8_t *in = read_file(argv[1], &in_len);
    struct reader r = { in, in + in_len };
    if (memcmp(take(&r, 4), "JXI1", 4)) { fprintf(stderr, "harness: bad magic\n"); return 2; }
    uint32_t npages = take32(&r), ncases = take32(&r);
    take32(&r);
    const uint8_t *pages = take(&r, (size_t)npages * PAGE);

    uint8_t *code = mmap((void *)CODE_ADDR, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (uint8_t *)CODE_ADDR) die("cannot map code at 0x100000");
    uint8_t *data = mmap((void *)DATA_ADDR, 2 * PAGE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (data != (uint8_t *)DATA_ADDR) die("cannot map data at 0x200000");
    memset(code, 0xcc, CODE_SIZE);

    /* alternate signal stack: the snippet's rsp may point anywhere (or into the data page) */
    stack_t ss = { .ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0 };
    if (!ss.ss_sp || sigaltstack(&ss, NULL)) die("sigaltstack");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL)) die("sigaction");
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    if (sigaction(SIGALRM, &sa, NULL)) die("sigaction");
    struct itimerval it = { { 0, 200000 }, { 0, 200000 } };
    if (setitimer(ITIMER_REAL, &it, NULL)) die("setitimer");

    FILE *out = strcmp(argv[2], "-") ? fopen(argv[2], "wb") : stdout;
    if (!out) die("cannot open output");
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    put(out, "JXO1", 4);
    put32(out, ncases);
    put64(out, 0);

    static uint8_t initial[PAGE];
    static const uint8_t zero_page[PAGE];
    uint32_t prev_len = 0;
    const uint64_t epilogue = (uint64_t)(uintptr_t)&jx_epilogue;

    for (uint32_t c = 0; c < ncases; c++) {
        uint32_t code_len = take32(&r), page = take32(&r), mxcsr = take32(&r), npatch = take32(&r);
        uint64_t rflags;
        memcpy(&rflags, take(&r, 8), 8);
        memcpy(jx_in.gpr, take(&r, 128), 128);
        memcpy(jx_in.xmm, take(&r, 256), 256);
        if (code_len > MAX_CODE) { fprintf(stderr, "harness: case %u: code too long\n", c); return 2; }
        if (page >= npages) { fprintf(stderr, "harness: case %u: bad page index\n", c); return 2; }
        const uint8_t *cb = take(&r, code_len);

        /* data page: base + patches; the following page is zero */
        memcpy(initial, pages + (size_t)page * PAGE, PAGE);
        for (uint32_t i = 0; i < npatch; i++) {
            uint16_t off = take16(&r), len = take16(&r);
            const uint8_t *b = take(&r, len);
            if ((uint32_t)off + len > PAGE) { fprintf(stderr, "harness: case %u: bad patch\n", c); return 2; }
            memcpy(initial + off, b, len);
        }
        memcpy(data, initial, PAGE);
        memset(data + PAGE, 0, PAGE);

        /* code + "jmp [rip+0]; .quad jx_epilogue" */
        memset(code, 0xcc, prev_len + 14);
        memcpy(code, cb, code_len);
        static const uint8_t jmp_abs[6] = { 0xff, 0x25, 0, 0, 0, 0 };
        memcpy(code + code_len, jmp_abs, 6);
        memcpy(code + code_len + 6, &epilogue, 8);
        prev_len = code_len;

        /* TF must stay 0 and AC would fault misaligned accesses in user mode; bit 1 is always set */
        jx_in.rflags = (rflags & ~((uint64_t)0x100 | 0x40000)) | 2;
        jx_in.mxcsr = mxcsr;
        jx_code_ptr = CODE_ADDR;
        memset(&jx_out, 0, sizeof jx_out);
        f_kind = 0; f_signo = 0; f_trapno = 0; f_err = 0; f_cr2 = 0;

        case_serial = c + 1;
        if (sigsetjmp(fault_env, 1) == 0) {
            in_case = 1;
            jx_run();
            in_case = 0;
            jx_out.pad = CODE_ADDR + code_len;
        }
        in_case = 0;
        __asm__ volatile("cld");

        put32(out, f_kind);
        put32(out, f_signo);
        put32(out, f_trapno);
        put32(out, f_err);
        put64(out, f_cr2);
        put64(out, jx_out.pad); /* rip */
        put64(out, jx_out.rflags);
        put(out, jx_out.gpr, 128);
        put(out, jx_out.xmm, 256);
        put32(out, jx_out.mxcsr);
        put32(out, memcmp(data + PAGE, zero_page, PAGE) ? 1 : 0);

        /* diff runs of the data page */
        uint32_t ndiff = 0;
        for (uint32_t i = 0; i < PAGE;) {
            if (data[i] == initial[i]) { i++; continue; }
            uint32_t j = i;
            while (j < PAGE && data[j] != initial[j]) j++;
            ndiff++;
            i = j;
        }
        put32(out, ndiff);
        put32(out, 0);
        for (uint32_t i = 0; i < PAGE;) {
            if (data[i] == initial[i]) { i++; continue; }
            uint32_t j = i;
            while (j < PAGE && data[j] != initial[j]) j++;
            put16(out, (uint16_t)i);
            put16(out, (uint16_t)(j - i));
            put(out, data + i, j - i);
            i = j;
        }
    }
    if (fflush(out)) die("flush failed");
    if (out != stdout) fclose(out);
    return 0;
}
