/* signals: signal delivery, siginfo, masks and flags. One line per check.
 *   signals         all checks below (about 0.1 s)
 *   signals alarm   alarm(1) + pause() only (takes 1 s)
 * Checks: siginfo of kill / raise / sigqueue (si_code, si_pid, si_uid,
 * si_value), blocking + sigpending + delivery on unblock, standard signals
 * merge while RT signals queue in order, delivery order of several pending
 * signals, SIG_IGN discards a pending signal, the mask inside a handler,
 * SA_RESETHAND, SA_NODEFER, nested signals, sigaltstack + SA_ONSTACK,
 * sigwaitinfo / sigtimedwait, alarm() return values, setitimer + pause,
 * setitimer + sigsuspend. Handlers only record; printing happens outside. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

static const char *signame(int s)
{
    static char buf[32];
    switch (s) {
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case 0: return "none";
    }
    if (s >= SIGRTMIN && s <= SIGRTMAX) {
        snprintf(buf, sizeof buf, "SIGRTMIN+%d", s - SIGRTMIN);
        return buf;
    }
    snprintf(buf, sizeof buf, "signal %d", s);
    return buf;
}

static const char *codename(int c)
{
    static char buf[32];
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TIMER: return "SI_TIMER";
    case SI_TKILL: return "SI_TKILL";
    }
    snprintf(buf, sizeof buf, "code %d", c);
    return buf;
}

static const char *yesno(int b) { return b ? "yes" : "no"; }

/* ---- an event log the handlers append to (no stdio in handlers) ---- */
static char evlog[512];
static volatile size_t evlen;

static void ev(const char *s)
{
    if (evlen && evlen < sizeof evlog - 1)
        evlog[evlen++] = ' ';
    while (*s && evlen < sizeof evlog - 1)
        evlog[evlen++] = *s++;
    evlog[evlen] = 0;
}

static void ev_clear(void) { evlen = 0; evlog[0] = 0; }

static void ev_num(int n)
{
    char b[16];
    int i = sizeof b - 1;
    b[i] = 0;
    do b[--i] = '0' + n % 10; while ((n /= 10) && i > 0);
    ev(b + i);
}

/* ---- handlers ---- */
static siginfo_t last_si;
static volatile sig_atomic_t calls;

static void record(int sig, siginfo_t *si, void *uc)
{
    last_si = *si;
    calls++;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
                    const int *mask_sigs)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    for (; mask_sigs && *mask_sigs; mask_sigs++)
        sigaddset(&sa.sa_mask, *mask_sigs);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void install_fullmask(int sig, void (*fn)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void set_default(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void mask(int how, int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK(sigprocmask(how, &s, NULL) == 0);
}

static int is_pending(int sig)
{
    sigset_t s;
    CHECK(sigpending(&s) == 0);
    return sigismember(&s, sig);
}

static int is_blocked(int sig)
{
    sigset_t s;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &s) == 0);
    return sigismember(&s, sig);
}

static void print_si(const char *what, int sig, int with_value)
{
    printf("%s: %s %s, si_pid %s, si_uid %s", what, signame(last_si.si_signo),
           codename(last_si.si_code), last_si.si_pid == getpid() ? "ok" : "WRONG",
           last_si.si_uid == getuid() ? "ok" : "WRONG");
    if (with_value)
        printf(", value %d", last_si.si_value.sival_int);
    printf(", calls %d\n", (int)calls);
    if (last_si.si_signo != sig)
        printf("FAIL: %s: wrong signal\n", what);
}

/* 1. siginfo of kill, raise, sigqueue */
static void test_siginfo(void)
{
    install(SIGUSR1, record, 0, NULL);
    calls = 0;
    CHECK(kill(getpid(), SIGUSR1) == 0);
    print_si("kill(getpid)", SIGUSR1, 0);
    calls = 0;
    CHECK(raise(SIGUSR1) == 0);
    print_si("raise", SIGUSR1, 0);
    calls = 0;
    union sigval v = { .sival_int = 4242 };
    CHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
    print_si("sigqueue", SIGUSR1, 1);
}

/* 2. blocking, sigpending, unblocking; standard vs RT queueing; order */
static void rt_handler(int sig, siginfo_t *si, void *uc)
{
    ev(signame(sig));
    if (si->si_code == SI_QUEUE)
        ev_num(si->si_value.sival_int);
}

static void test_blocking(void)
{
    install(SIGUSR2, record, 0, NULL);
    calls = 0;
    mask(SIG_BLOCK, SIGUSR2);
    printf("pending before raise: %s\n", yesno(is_pending(SIGUSR2)));
    CHECK(raise(SIGUSR2) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(raise(SIGUSR2) == 0);
    printf("raised 3x while blocked: calls %d, pending %s\n", (int)calls,
           yesno(is_pending(SIGUSR2)));
    mask(SIG_UNBLOCK, SIGUSR2);
    printf("after unblock: calls %d (standard signals merge), pending %s\n",
           (int)calls, yesno(is_pending(SIGUSR2)));

    int rt = SIGRTMIN + 1;
    install_fullmask(rt, rt_handler);
    ev_clear();
    mask(SIG_BLOCK, rt);
    for (int i = 1; i <= 3; i++) {
        union sigval v = { .sival_int = i * 11 };
        CHECK(sigqueue(getpid(), rt, v) == 0);
    }
    printf("RT queued 3x while blocked: delivered [%s], pending %s\n", evlog,
           yesno(is_pending(rt)));
    mask(SIG_UNBLOCK, rt);
    printf("RT after unblock: delivered [%s], pending %s\n", evlog, yesno(is_pending(rt)));

    /* several different pending signals: lowest number first (handlers
     * block everything, so each one runs to completion before the next) */
    install_fullmask(SIGUSR1, rt_handler);
    install_fullmask(SIGUSR2, rt_handler);
    install_fullmask(SIGHUP, rt_handler);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, rt);
    CHECK(sigprocmask(SIG_BLOCK, &s, &old) == 0);
    ev_clear();
    union sigval v = { .sival_int = 5 };
    CHECK(sigqueue(getpid(), rt, v) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(raise(SIGHUP) == 0);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("delivery order: [%s]\n", evlog);
    set_default(SIGHUP);
    set_default(rt);

    /* setting SIG_IGN discards a pending signal */
    install(SIGUSR1, record, 0, NULL);
    calls = 0;
    mask(SIG_BLOCK, SIGUSR1);
    CHECK(raise(SIGUSR1) == 0);
    printf("SIG_IGN: pending before %s", yesno(is_pending(SIGUSR1)));
    signal(SIGUSR1, SIG_IGN);
    printf(", after %s", yesno(is_pending(SIGUSR1)));
    install(SIGUSR1, record, 0, NULL);
    mask(SIG_UNBLOCK, SIGUSR1);
    printf(", calls after unblock %d\n", (int)calls);
    CHECK(raise(SIGUSR1) == 0); /* ignored signals are dropped at once */
    signal(SIGUSR1, SIG_IGN);
    CHECK(raise(SIGUSR1) == 0);
    printf("raise of an ignored signal: returns, calls %d\n", (int)calls);
}

/* 3. the mask inside a handler; SA_RESETHAND; SA_NODEFER; nesting */
static volatile sig_atomic_t in_self_blocked, in_other_blocked, in_third_blocked;

static void mask_handler(int sig, siginfo_t *si, void *uc)
{
    in_self_blocked = is_blocked(SIGUSR1);
    in_other_blocked = is_blocked(SIGUSR2);
    in_third_blocked = is_blocked(SIGHUP);
    calls++;
}

static volatile sig_atomic_t depth, max_depth;

static void depth_handler(int sig, siginfo_t *si, void *uc)
{
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    calls++;
    if (calls == 1)
        raise(sig); /* again, from inside the handler */
    depth--;
}

static void usr1_nest(int sig, siginfo_t *si, void *uc)
{
    ev("USR1-in");
    raise(SIGUSR2);
    ev("USR1-out");
}

static void usr2_nest(int sig, siginfo_t *si, void *uc)
{
    ev("USR2");
}

static void test_flags(void)
{
    int m[] = { SIGUSR2, 0 };
    install(SIGUSR1, mask_handler, 0, m);
    calls = 0;
    CHECK(raise(SIGUSR1) == 0);
    printf("in handler: own signal blocked %s, sa_mask signal blocked %s, "
           "other blocked %s\n", yesno(in_self_blocked), yesno(in_other_blocked),
           yesno(in_third_blocked));
    printf("after handler: own blocked %s, sa_mask signal blocked %s\n",
           yesno(is_blocked(SIGUSR1)), yesno(is_blocked(SIGUSR2)));

    install(SIGUSR1, mask_handler, SA_NODEFER, NULL);
    CHECK(raise(SIGUSR1) == 0);
    printf("SA_NODEFER: own signal blocked in handler %s\n", yesno(in_self_blocked));

    install(SIGUSR1, record, SA_RESETHAND, NULL);
    calls = 0;
    struct sigaction q;
    CHECK(sigaction(SIGUSR1, NULL, &q) == 0);
    printf("SA_RESETHAND: before %s", q.sa_sigaction == record ? "handler" : "WRONG");
    CHECK(raise(SIGUSR1) == 0);
    CHECK(sigaction(SIGUSR1, NULL, &q) == 0);
    printf(", calls %d, after %s\n", (int)calls,
           q.sa_handler == SIG_DFL ? "SIG_DFL" : "not SIG_DFL");

    install(SIGUSR1, depth_handler, 0, NULL);
    calls = depth = max_depth = 0;
    CHECK(raise(SIGUSR1) == 0);
    printf("raise inside own handler: calls %d, max depth %d (deferred)\n",
           (int)calls, (int)max_depth);
    install(SIGUSR1, depth_handler, SA_NODEFER, NULL);
    calls = depth = max_depth = 0;
    CHECK(raise(SIGUSR1) == 0);
    printf("raise inside own handler, SA_NODEFER: calls %d, max depth %d (nested)\n",
           (int)calls, (int)max_depth);

    install(SIGUSR1, usr1_nest, 0, NULL);
    install(SIGUSR2, usr2_nest, 0, NULL);
    ev_clear();
    CHECK(raise(SIGUSR1) == 0);
    printf("nested: [%s]\n", evlog);
    install(SIGUSR1, usr1_nest, 0, m);
    ev_clear();
    CHECK(raise(SIGUSR1) == 0);
    printf("nested with SIGUSR2 in sa_mask: [%s]\n", evlog);
}

/* 4. sigaltstack + SA_ONSTACK */
#define ALT_SIZE 65536
static char altstack[ALT_SIZE] __attribute__((aligned(16)));
static volatile sig_atomic_t on_alt, ss_onstack, change_eperm;

static void alt_handler(int sig, siginfo_t *si, void *uc)
{
    char local;
    uintptr_t a = (uintptr_t)&local, lo = (uintptr_t)altstack;
    on_alt = a >= lo && a < lo + ALT_SIZE;
    stack_t cur;
    sigaltstack(NULL, &cur);
    ss_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
    stack_t n = { .ss_sp = altstack, .ss_size = ALT_SIZE, .ss_flags = 0 };
    change_eperm = sigaltstack(&n, NULL) == -1 && errno == EPERM;
}

static void test_altstack(void)
{
    stack_t st, cur;
    CHECK(sigaltstack(NULL, &cur) == 0);
    printf("sigaltstack initially: %s\n", cur.ss_flags & SS_DISABLE ? "SS_DISABLE" : "enabled");
    st.ss_sp = altstack;
    st.ss_size = 1024;
    st.ss_flags = 0;
    errno = 0;
    printf("sigaltstack size 1024: %s\n",
           sigaltstack(&st, NULL) == -1 && errno == ENOMEM ? "ENOMEM" : "WRONG");
    st.ss_size = ALT_SIZE;
    CHECK(sigaltstack(&st, NULL) == 0);
    CHECK(sigaltstack(NULL, &cur) == 0);
    printf("sigaltstack set: flags %d, size %s, sp %s\n", cur.ss_flags,
           cur.ss_size == ALT_SIZE ? "ok" : "WRONG", cur.ss_sp == altstack ? "ok" : "WRONG");

    install(SIGUSR2, alt_handler, SA_ONSTACK, NULL);
    on_alt = ss_onstack = change_eperm = 0;
    CHECK(raise(SIGUSR2) == 0);
    printf("SA_ONSTACK: on altstack: %s, SS_ONSTACK: %s, changing it: %s\n",
           yesno(on_alt), yesno(ss_onstack), change_eperm ? "EPERM" : "WRONG");
    CHECK(sigaltstack(NULL, &cur) == 0);
    printf("after handler: SS_ONSTACK %s\n", yesno(cur.ss_flags & SS_ONSTACK));

    install(SIGUSR2, alt_handler, 0, NULL);
    on_alt = ss_onstack = 1;
    CHECK(raise(SIGUSR2) == 0);
    printf("without SA_ONSTACK: on altstack: %s, SS_ONSTACK: %s\n", yesno(on_alt),
           yesno(ss_onstack));

    st.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&st, NULL) == 0);
    CHECK(sigaltstack(NULL, &cur) == 0);
    printf("sigaltstack disabled: %s\n", cur.ss_flags & SS_DISABLE ? "SS_DISABLE" : "WRONG");
    install(SIGUSR2, alt_handler, SA_ONSTACK, NULL);
    on_alt = 1;
    CHECK(raise(SIGUSR2) == 0);
    printf("SA_ONSTACK with altstack disabled: on altstack: %s\n", yesno(on_alt));
}

/* 5. sigwaitinfo, sigtimedwait */
static void test_sigwait(void)
{
    install(SIGUSR1, record, 0, NULL);
    calls = 0;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
    union sigval v = { .sival_int = 77 };
    CHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = sigwaitinfo(&s, &si);
    printf("sigwaitinfo: %s, %s, value %d, si_pid %s, handler calls %d, pending %s\n",
           signame(r), codename(si.si_code), si.si_value.sival_int,
           si.si_pid == getpid() ? "ok" : "WRONG", (int)calls, yesno(is_pending(SIGUSR1)));
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    errno = 0;
    r = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait 10ms, nothing pending: %s\n",
           r == -1 && errno == EAGAIN ? "EAGAIN" : "WRONG");
    CHECK(kill(getpid(), SIGUSR1) == 0);
    r = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait after kill: %s, %s\n", signame(r), codename(si.si_code));
    /* raw syscall: glibc's sigtimedwait rewrites SI_TKILL to SI_USER */
    CHECK(raise(SIGUSR1) == 0);
    memset(&si, 0, sizeof si);
    r = syscall(SYS_rt_sigtimedwait, &s, &si, &ts, 8);
    printf("rt_sigtimedwait syscall after raise: %s, %s\n", signame(r),
           codename(si.si_code));
    CHECK(sigprocmask(SIG_UNBLOCK, &s, NULL) == 0);
}

/* 6. timers */
static void alrm_handler(int sig, siginfo_t *si, void *uc)
{
    last_si = *si;
    calls++;
}

static void test_timers(void)
{
    unsigned a = alarm(5), b = alarm(3), c = alarm(0);
    printf("alarm(5) -> %u, alarm(3) -> %u, alarm(0) -> %u\n", a, b, c);

    install(SIGALRM, alrm_handler, 0, NULL);
    calls = 0;
    struct itimerval it = { { 0, 0 }, { 0, 20 * 1000 } }, cur;
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    printf("getitimer while armed: %s\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
           cur.it_value.tv_usec <= 20000 ? "0 < value <= 20ms" : "WRONG");
    errno = 0;
    int r = pause();
    printf("setitimer 20ms + pause: returned %d %s, %s %s, calls %d\n", r,
           errno == EINTR ? "EINTR" : "WRONG", signame(last_si.si_signo),
           codename(last_si.si_code), (int)calls);

    sigset_t blk, old, wait;
    sigemptyset(&blk);
    sigaddset(&blk, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &blk, &old) == 0);
    calls = 0;
    it.it_value.tv_usec = 50 * 1000;
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    wait = old;
    sigdelset(&wait, SIGALRM);
    errno = 0;
    r = sigsuspend(&wait);
    int e = errno;
    printf("setitimer 50ms + sigsuspend: returned %d %s, %s, calls %d, "
           "SIGALRM blocked again %s\n", r, e == EINTR ? "EINTR" : "WRONG",
           signame(last_si.si_signo), (int)calls, yesno(is_blocked(SIGALRM)));
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    printf("one-shot timer disarmed: %s\n",
           yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0));
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void test_alarm_pause(void)
{
    install(SIGALRM, alrm_handler, 0, NULL);
    calls = 0;
    unsigned a = alarm(1);
    errno = 0;
    int r = pause();
    printf("alarm(1) -> %u; pause: returned %d %s, %s %s, calls %d\n", a, r,
           errno == EINTR ? "EINTR" : "WRONG", signame(last_si.si_signo),
           codename(last_si.si_code), (int)calls);
    printf("alarm(0) afterwards -> %u\n", alarm(0));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "alarm") == 0) {
        test_alarm_pause();
    } else {
        test_siginfo();
        test_blocking();
        test_flags();
        test_altstack();
        test_sigwait();
        test_timers();
    }
    printf("ok\n");
    return 0;
}
