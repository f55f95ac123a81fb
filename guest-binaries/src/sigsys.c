// SIGSYS from a seccomp SCMP_ACT_TRAP rule, as the guest sees it.
//
// Installs an SA_SIGINFO handler for SIGSYS, then makes one raw umask(022)
// syscall and prints what happened. With no filter (the default, and what
// check.sh runs) umask just runs and the line says so. Under a filter that
// traps umask (tslinux run --policy ... with SCMP_ACT_TRAP), seccomp(2)
// says the call is not made and the thread gets SIGSYS with
//   si_code    SYS_SECCOMP (1)
//   si_errno   the filter's SECCOMP_RET_DATA (0 for a profile's TRAP rule)
//   si_syscall the syscall number (x86-64 95, aarch64 166)
//   si_arch    AUDIT_ARCH_X86_64 0xc000003e / AUDIT_ARCH_AARCH64 0xc00000b7
//   si_call_addr the address after the system call instruction
// and the return register holds what it held when the call was made (the
// kernel rolls it back): the syscall number on x86-64 (rax), the first
// argument on aarch64 (x0); both are printed.
//
// `sigsys block` blocks SIGSYS first: a trapped call then kills the process
// with SIGSYS (the kernel forces the signal), so nothing after it prints.
//
// `sigsys thread` makes the umask call in a second thread and waits until the
// thread is gone: under SCMP_ACT_KILL_THREAD only that thread dies, and the
// main thread goes on to say the call never returned.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t trapped;
static siginfo_t got;
static uintptr_t pc_in_handler;

static uintptr_t context_pc(const ucontext_t *uc) {
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
#error "x86_64 or aarch64 only"
#endif
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    trapped++;
    got = *si;
    pc_in_handler = context_pc((const ucontext_t *)ctx);
}

static volatile int thread_tid;
static volatile int thread_ran;

static void *umask_thread(void *arg) {
    (void)arg;
    thread_tid = (int)syscall(SYS_gettid);
    long ret = syscall(SYS_umask, 022);
    thread_ran = ret >= 0 ? 1 : 2;
    return NULL;
}

/* Not pthread_join: musl's join waits for the thread's own exit code to run,
 * which a thread the kernel killed never does (that hangs on Linux too). The
 * kernel's view is asked instead: tgkill(pid, tid, 0) fails with ESRCH once
 * the thread is gone. */
static int in_a_thread(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, umask_thread, NULL) != 0) {
        printf("pthread_create failed\n");
        return 1;
    }
    pthread_detach(t);
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 5000; i++) {
        if (thread_tid && syscall(SYS_tgkill, getpid(), thread_tid, 0) != 0) break;
        nanosleep(&ms, NULL);
    }
    printf("the thread is gone; umask in it %s\n",
           thread_ran == 1 ? "ran" : thread_ran == 2 ? "failed" : "never returned");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "thread") == 0) return in_a_thread();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        perror("sigaction");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "block") == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSYS);
        sigprocmask(SIG_BLOCK, &set, NULL);
        printf("SIGSYS blocked\n");
    }
    fflush(stdout);

    long ret = syscall(SYS_umask, 022);
    if (!trapped) {
        printf("umask ran: %s, no SIGSYS\n", ret >= 0 ? "ok" : "failed");
        return 0;
    }
    printf("SIGSYS: signo %s, code %d%s, errno %d, syscall %d, arch 0x%x\n",
           got.si_signo == SIGSYS ? "SIGSYS" : "other", got.si_code,
           got.si_code == 1 ? " (SYS_SECCOMP)" : "", got.si_errno,
           got.si_syscall, got.si_arch);
    printf("si_call_addr is the handler's pc: %s\n",
           (uintptr_t)got.si_call_addr == pc_in_handler ? "yes" : "no");
    printf("return register after the trap: %ld\n", ret);
    return 0;
}
