/* faultpc: a SIGSEGV handler sees the faulting instruction's own pc in its
 * ucontext, also when the fault comes after calls through hot, chained code
 * (what Go's runtime relies on to turn a nil dereference into a panic). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>

extern char fault_at[];

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
#if defined(__x86_64__)
    char *pc = (char *)uc->uc_mcontext.gregs[REG_RIP];
#else
    char *pc = (char *)uc->uc_mcontext.pc;
#endif
    printf("SIGSEGV at address %p, pc %s\n", si->si_addr, pc == fault_at ? "is the faulting load" : "is WRONG");
    _exit(0);
}

__attribute__((noinline)) static long touch(long *p, long n) {
    long s = 0;
    for (long i = 0; i < n; i++) s += i * 3; /* a few blocks before the load */
#if defined(__x86_64__)
    __asm__ volatile("fault_at: mov (%1), %0" : "=r"(s) : "r"(p));
#else
    __asm__ volatile("fault_at: ldr %0, [%1]" : "=r"(s) : "r"(p));
#endif
    return s;
}

__attribute__((noinline)) static long chain(long *p, long n) { return touch(p, n) + 1; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    long cell = 1, sum = 0;
    for (int i = 0; i < 100000; i++) sum += chain(&cell, 3); /* hot: the blocks get chained */
    printf("warm-up sum %ld\n", sum);
    chain((long *)16, 5);
    return 1;
}
