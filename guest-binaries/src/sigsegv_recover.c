/* sigsegv_recover: catch faults with an SA_SIGINFO handler and recover with
 * siglongjmp (sigsetjmp savemask=1, so the handler's blocked SIGSEGV is
 * unblocked again and the next fault is caught too).
 *   - a write to unmapped address 0x10, three times: SEGV_MAPERR, si_addr 0x10
 *   - a read of unmapped address 0x10: SEGV_MAPERR
 *   - a write to a PROT_READ page: SEGV_ACCERR, si_addr = the written byte
 *   - a read of a PROT_NONE page: SEGV_ACCERR
 *   - a call to address 0: SEGV_MAPERR, si_addr 0
 *   - a read past the end of a shared file mapping: SIGBUS, BUS_ADRERR
 * Addresses are compared, never printed. Creates and deletes segv.tmp. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096
#define FNAME "segv.tmp"

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

static sigjmp_buf env;
static volatile sig_atomic_t got_signo, got_code, handler_calls;
static void *volatile got_addr;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    handler_calls++;
    got_signo = si->si_signo;
    got_code = si->si_code;
    got_addr = si->si_addr;
    if (si->si_signo != sig)
        got_signo = -1;
    siglongjmp(env, 1);
}

static const char *signame(int s)
{
    return s == SIGSEGV ? "SIGSEGV" : s == SIGBUS ? "SIGBUS" : "other";
}

static const char *codename(int sig, int c)
{
    if (sig == SIGSEGV)
        return c == SEGV_MAPERR ? "SEGV_MAPERR" : c == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
    if (sig == SIGBUS)
        return c == BUS_ADRERR ? "BUS_ADRERR" : c == BUS_ADRALN ? "BUS_ADRALN" :
               c == BUS_OBJERR ? "BUS_OBJERR" : "other";
    return "other";
}

/* The faulting operations. The asm hides the pointer from the optimizer. */
enum op { WRITE, READ, CALL };

static void __attribute__((noinline)) touch(uintptr_t a, enum op op)
{
    volatile char *p = (volatile char *)a;
    __asm__("" : "+r"(p));
    if (op == WRITE) {
        *p = 1;
    } else if (op == READ) {
        (void)*p;
    } else {
        void (*fn)(void) = (void (*)(void))(uintptr_t)p;
        fn();
    }
}

/* Run one faulting access; report what the handler saw. */
static void fault(const char *what, uintptr_t a, enum op op, int want_sig,
                  int want_code, uintptr_t want_addr)
{
    got_signo = got_code = 0;
    got_addr = NULL;
    int calls = handler_calls;
    if (sigsetjmp(env, 1) == 0) {
        touch(a, op);
        printf("%s: no fault\n", what);
        return;
    }
    printf("%s: %s %s, addr %s\n", what, signame(got_signo),
           codename(got_signo, got_code),
           (uintptr_t)got_addr == want_addr ? "ok" : "WRONG");
    int ok = got_signo == want_sig && got_code == want_code &&
             (uintptr_t)got_addr == want_addr && handler_calls == calls + 1;
    if (!ok)
        printf("FAIL: %s\n", what);
    /* savemask=1: the mask from before the fault is back, nothing blocked */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    if (sigismember(&cur, SIGSEGV) || sigismember(&cur, SIGBUS))
        printf("FAIL: %s: signal still blocked after siglongjmp\n", what);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

    for (int i = 1; i <= 3; i++) {
        char what[32];
        snprintf(what, sizeof what, "write 0x10 #%d", i);
        fault(what, 0x10, WRITE, SIGSEGV, SEGV_MAPERR, 0x10);
    }
    fault("read 0x10", 0x10, READ, SIGSEGV, SEGV_MAPERR, 0x10);

    char *ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    printf("read of PROT_READ page: %d\n", ro[PG + 5]);
    fault("write PROT_READ page", (uintptr_t)ro + PG + 123, WRITE, SIGSEGV,
          SEGV_ACCERR, (uintptr_t)ro + PG + 123);
    CHECK(mprotect(ro, 2 * PG, PROT_NONE) == 0);
    fault("read PROT_NONE page", (uintptr_t)ro + 7, READ, SIGSEGV, SEGV_ACCERR,
          (uintptr_t)ro + 7);
    CHECK(mprotect(ro, 2 * PG, PROT_READ | PROT_WRITE) == 0);
    ro[PG + 123] = 42;
    printf("write after mprotect RW: %d\n", ro[PG + 123]);
    CHECK(munmap(ro, 2 * PG) == 0);

    fault("call 0x0", 0, CALL, SIGSEGV, SEGV_MAPERR, 0);

    /* A shared mapping of a 100-byte file: the first page is readable (the
     * tail is zero), the second page lies wholly beyond EOF -> SIGBUS. */
    int fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char buf[100];
    memset(buf, 'x', sizeof buf);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    char *fm = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(fm != MAP_FAILED);
    printf("file mapping byte 99: %c, byte 100: %d\n", fm[99], fm[100]);
    fault("read beyond EOF", (uintptr_t)fm + PG + 8, READ, SIGBUS, BUS_ADRERR,
          (uintptr_t)fm + PG + 8);
    CHECK(munmap(fm, 2 * PG) == 0);
    close(fd);
    unlink(FNAME);

    printf("handler calls: %d\n", (int)handler_calls);
    printf("ok\n");
    return 0;
}
