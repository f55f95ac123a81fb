/* stack: the main thread's stack grows on demand, up to RLIMIT_STACK.
 *   stack deep       recursion through about 6 MiB of frames (the default
 *                    limit is 8 MiB)
 *   stack overflow   unbounded recursion: a SIGSEGV handler on an alternate
 *                    stack checks that the fault lies about RLIMIT_STACK
 *                    below the top of the stack
 *   stack read       read(2) into stack memory 3 MiB below the deepest
 *                    frame, which nothing touched: the kernel's copy grows
 *                    the stack as a fault would */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static uintptr_t top;   /* an address near the top of the stack */
static uintptr_t limit; /* RLIMIT_STACK */

__attribute__((noinline)) static unsigned long recurse(unsigned long n)
{
    volatile char frame[1000];
    frame[0] = (char)n;
    frame[999] = (char)(n >> 3);
    if (n == 0) return 0;
    return recurse(n - 1) + (unsigned char)frame[0] + (unsigned char)frame[999];
}

static void say(const char *s) { if (write(1, s, strlen(s)) < 0) _exit(3); }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    uintptr_t depth = top - (uintptr_t)si->si_addr;
    /* The top of the stack holds argv, envp and auxv, a few KiB here. */
    say(depth > limit - (256 << 10) && depth <= limit + (64 << 10) ? "SIGSEGV about RLIMIT_STACK below the top of the stack\n"
                                                                    : "SIGSEGV elsewhere\n");
    _exit(0);
}

int main(int argc, char **argv)
{
    char here;
    top = (uintptr_t)&here;
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) != 0) return 2;
    limit = rl.rlim_cur;
    const char *mode = argc > 1 ? argv[1] : "deep";
    if (strcmp(mode, "deep") == 0) {
        unsigned long n = 6000; /* ~1 KiB each: about 6 MiB */
        unsigned long sum = recurse(n);
        printf("recursion %lu deep: %lu\n", n, sum);
        return 0;
    }
    if (strcmp(mode, "overflow") == 0) {
        static char alt[64 << 10];
        stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
        struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK };
        if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0) return 2;
        recurse(~0UL >> 1);
        say("no SIGSEGV\n");
        return 1;
    }
    if (strcmp(mode, "read") == 0) {
        int p[2];
        if (pipe(p) != 0 || write(p[1], "abc", 3) != 3) return 2;
        char *far = (char *)((top - (3 << 20)) & ~(uintptr_t)4095);
        ssize_t n = read(p[0], far, 3);
        printf("read %zd bytes into untouched stack: %s\n", n, n == 3 && memcmp(far, "abc", 3) == 0 ? "ok" : "wrong");
        return 0;
    }
    return 2;
}
