/* sigtrace: signals and calls that do not return, for comparing tslinux's
 * trace with strace's (test/trace-golden.test.ts). Every mode makes its
 * calls in an order that does not depend on scheduling, so a native run
 * under strace and a run under tslinux --trace give the same lines (each
 * thread's own lines, at least).
 *   sigtrace deliver   a SIGUSR1 handler run by kill, tgkill and sigqueue
 *                      (SI_USER, SI_TKILL, SI_QUEUE), with another signal
 *                      blocked (the mask rt_sigreturn restores); ignored
 *                      signals (SIG_IGN, and SIGWINCH's default) sent with
 *                      kill, and one that was blocked when sent
 *   sigtrace children  children that exit 3, raise SIGTERM, write to a pipe
 *                      with no reader (SIGPIPE) and store to address 0x10
 *                      (SIGSEGV); SIGCHLD is blocked while the parent waits,
 *                      so each SIGCHLD is delivered when it is unblocked
 *   sigtrace stop      a child stops itself (SIGSTOP); the parent sees it
 *                      stopped (WUNTRACED) and continues it (SIGCONT)
 *   sigtrace sigkill   a child says it is ready, then blocks in a read
 *                      until its parent kills it with SIGKILL (whether the
 *                      read has started by then depends on scheduling: not
 *                      compared with strace, but tslinux's order is fixed)
 *   sigtrace timer     setitimer(1 ms) with SIGALRM blocked, then
 *                      sigsuspend: interrupted (ERESTARTNOHAND), the
 *                      handler, rt_sigreturn restores -EINTR
 *   sigtrace threads   a detached thread that returns (exit), and one
 *                      blocked in a futex wait when main returns
 *                      (exit_group ends it)
 *   sigtrace seccomp   a seccomp filter (installed here natively; under
 *                      tslinux the same rules come from --policy, see
 *                      sigtrace-policy.json): umask traps (SIGSYS), getpgid
 *                      fails with EPERM, getppid in a child kills it
 * Prints one line per mode, so check.sh compares the native and emulated
 * runs too. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FUTEX_WAIT
#define FUTEX_WAIT 0
#define FUTEX_CMP_REQUEUE 4
#endif

static volatile sig_atomic_t handled;

static void on_signal(int sig) { handled++; }

static void set_handler(int sig, void (*fn)(int), int block_also)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    if (block_also)
        sigaddset(&sa.sa_mask, block_also);
    sigaction(sig, &sa, NULL);
}

static void mask(int how, int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

static int deliver(void)
{
    set_handler(SIGUSR1, on_signal, SIGHUP);
    mask(SIG_BLOCK, SIGUSR2);
    kill(getpid(), SIGUSR1);
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    union sigval v = { .sival_int = 42 };
    sigqueue(getpid(), SIGUSR1, v);
    mask(SIG_UNBLOCK, SIGUSR2);
    /* Ignored signals: dropped when sent, unless blocked (then dropped
     * when unblocked); strace shows each as delivered. */
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGWINCH);
    mask(SIG_BLOCK, SIGUSR2);
    kill(getpid(), SIGUSR2);
    mask(SIG_UNBLOCK, SIGUSR2);
    printf("deliver: handler ran %d times\n", (int)handled);
    return 0;
}

/* Fork a child running fn, wait for it with SIGCHLD blocked, then take SIGCHLD. */
static int child_status(void (*fn)(void))
{
    int status = -1;
    mask(SIG_BLOCK, SIGCHLD);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    waitpid(pid, &status, 0);
    mask(SIG_UNBLOCK, SIGCHLD);
    return status;
}

static void exit3(void) { _exit(3); }
static void term(void) { raise(SIGTERM); }
static void segv(void)
{
    volatile int *bad = (volatile int *)0x10;
    __asm__("" : "+r"(bad)); /* hide the constant from the optimizer */
    *bad = 1;
}

static void epipe(void)
{
    int fd[2];
    pipe(fd);
    close(fd[0]);
    write(fd[1], "x", 1);
}

static int children(void)
{
    int a = child_status(exit3), b = child_status(term), c = child_status(epipe), d = child_status(segv);
    printf("children: exit %d, signals %s %s %s\n", WEXITSTATUS(a), WTERMSIG(b) == SIGTERM ? "SIGTERM" : "?",
           WTERMSIG(c) == SIGPIPE ? "SIGPIPE" : "?", WTERMSIG(d) == SIGSEGV ? "SIGSEGV" : "?");
    return 0;
}

static int stop(void)
{
    int stopped = -1, exited = -1;
    mask(SIG_BLOCK, SIGCHLD);
    pid_t pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(4);
    }
    waitpid(pid, &stopped, WUNTRACED);
    kill(pid, SIGCONT);
    waitpid(pid, &exited, 0);
    mask(SIG_UNBLOCK, SIGCHLD);
    printf("stop: %s, continued, exit %d\n", WIFSTOPPED(stopped) && WSTOPSIG(stopped) == SIGSTOP ? "stopped by SIGSTOP" : "?",
           WEXITSTATUS(exited));
    return 0;
}

static int sigkill(void)
{
    int ready[2], never[2], status = -1;
    char c;
    pipe(ready);
    pipe(never);
    pid_t pid = fork();
    if (pid == 0) {
        write(ready[1], "r", 1);
        read(never[0], &c, 1);
        _exit(0);
    }
    read(ready[0], &c, 1);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("sigkill: child killed by %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "SIGKILL" : "?");
    return 0;
}

static int timer(void)
{
    set_handler(SIGALRM, on_signal, 0);
    mask(SIG_BLOCK, SIGALRM);
    struct itimerval it = { { 0, 0 }, { 0, 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    printf("timer: sigsuspend %d %s, handler ran %d times\n", r, errno == EINTR ? "EINTR" : "?", (int)handled);
    return 0;
}

static int word, other_word;
static volatile int returned_tid;

static void *returns(void *arg)
{
    returned_tid = gettid();
    return arg;
}

static void *waits(void *arg)
{
    syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0);
    return arg;
}

static int threads(void)
{
    pthread_t t;
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &detached, returns, NULL);
    /* Not pthread_join, which may or may not wait in a futex: tgkill(.., 0)
     * fails with ESRCH once the kernel says the thread is gone. The loop
     * (sched_yield, tgkill) runs a number of times that depends on
     * scheduling; the comparison leaves those lines out. */
    pid_t me = getpid();
    while (!returned_tid || syscall(SYS_tgkill, me, returned_tid, 0) == 0)
        sched_yield();
    pthread_create(&t, NULL, waits, NULL);
    /* FUTEX_CMP_REQUEUE moves waiters without waking them and says how
     * many it moved: 1 once the thread is blocked in its wait. */
    while (syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 0, 1, &other_word, 0) < 1)
        sched_yield();
    printf("threads: one returned, one waits as main returns\n");
    fflush(stdout);
    return 0;
}

/* A classic BPF seccomp filter (linux/filter.h, linux/seccomp.h), spelt out
 * so that the guest builds against any libc's headers. */
struct bpf_insn { uint16_t code; uint8_t jt, jf; uint32_t k; };
struct bpf_prog { unsigned short len; struct bpf_insn *filter; };
#define LD_NR { 0x20, 0, 0, 0 }                    /* ld [0]: seccomp_data.nr */
#define IF_NR(nr) { 0x15, 0, 1, (nr) }             /* jeq #nr, next, skip one */
#define RET(v) { 0x06, 0, 0, (v) }
#define RET_KILL_PROCESS 0x80000000u
#define RET_TRAP 0x00030000u
#define RET_ERRNO(e) (0x00050000u | (e))
#define RET_ALLOW 0x7fff0000u

static void getppid_child(void) { syscall(SYS_getppid); }

static int filtered(void)
{
    struct bpf_insn insns[] = {
        LD_NR,
        IF_NR(SYS_umask), RET(RET_TRAP),
        IF_NR(SYS_getpgid), RET(RET_ERRNO(EPERM)),
        IF_NR(SYS_getppid), RET(RET_KILL_PROCESS),
        RET(RET_ALLOW),
    };
    struct bpf_prog prog = { sizeof insns / sizeof insns[0], insns };
    set_handler(SIGSYS, on_signal, 0);
    /* Natively this installs the filter; tslinux has no seccomp(2)
     * (ENOSYS) and takes the same rules from --policy. */
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog, 0, 0, 0);
    long trapped = syscall(SYS_umask, 022);
    long denied = syscall(SYS_getpgid, 0);
    int status = child_status(getppid_child);
    printf("seccomp: umask trapped %s (handler ran %d times), getpgid %s, getppid killed by %s\n",
           trapped == SYS_umask || trapped == 022 ? "ok" : "?", (int)handled, denied == -1 && errno == EPERM ? "EPERM" : "?",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? "SIGSYS" : "?");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "deliver")) return deliver();
    if (!strcmp(mode, "children")) return children();
    if (!strcmp(mode, "stop")) return stop();
    if (!strcmp(mode, "sigkill")) return sigkill();
    if (!strcmp(mode, "timer")) return timer();
    if (!strcmp(mode, "threads")) return threads();
    if (!strcmp(mode, "seccomp")) return filtered();
    fprintf(stderr, "usage: sigtrace deliver|children|stop|sigkill|timer|threads|seccomp\n");
    return 2;
}
