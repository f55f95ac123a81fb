/* events: epoll, eventfd and timerfd.
 * Checks: eventfd counting, EFD_SEMAPHORE, EAGAIN, the overflow limit and
 * EINVAL; epoll over a pipe written by a forked child (EPOLLIN, then
 * EPOLLHUP once the child is gone), level- and edge-triggered (EPOLLET)
 * reporting, EPOLLONESHOT and its re-arming with EPOLL_CTL_MOD, the 64-bit
 * data word, epoll_ctl's errors (EEXIST, ENOENT, EINVAL, EPERM, ELOOP,
 * EBADF), maxevents checks, nested epolls, epoll_pwait's signal mask
 * (EINTR) and epoll_pwait2's timespec timeout (where the host has it); timerfd intervals (blocking
 * reads count expirations), one-shot timers in poll and epoll,
 * TFD_TIMER_ABSTIME on CLOCK_REALTIME, timerfd_gettime, and EAGAIN on a
 * non-blocking timer that has not expired. Only what does not depend on
 * timing is printed, so the output is the same natively, under qemu and
 * under tslinux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* the same number on x86-64 and aarch64 */
#endif

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

#define MS 1000000L

static const char *errname(int e)
{
    static char buf[32];
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    }
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

/* The errno of a call that returns -1 on failure ("ok" when it succeeded). */
#define ERR(call) ((call) == -1 ? errname(errno) : "ok")

static const char *evname(uint32_t ev)
{
    static char buf[64];
    buf[0] = 0;
    if (ev & EPOLLIN) strcat(buf, "|IN");
    if (ev & EPOLLOUT) strcat(buf, "|OUT");
    if (ev & EPOLLERR) strcat(buf, "|ERR");
    if (ev & EPOLLHUP) strcat(buf, "|HUP");
    if (ev & ~(uint32_t)(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP)) strcat(buf, "|other");
    return buf[0] ? buf + 1 : "0";
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Wait up to timeout ms; print how many events came and the first one. */
static int wait_print(const char *what, int ep, int timeout)
{
    struct epoll_event evs[4];
    int n = epoll_wait(ep, evs, 4, timeout);
    CHECK(n >= 0);
    if (n == 0)
        printf("%s: 0 events\n", what);
    else
        printf("%s: %d event(s), first %s data=%#llx\n", what, n, evname(evs[0].events),
               (unsigned long long)evs[0].data.u64);
    return n;
}

static uint64_t readu64(int fd)
{
    uint64_t v;
    CHECK(read(fd, &v, 8) == 8);
    return v;
}

static void writeu64(int fd, uint64_t v)
{
    CHECK(write(fd, &v, 8) == 8);
}

static void eventfds(void)
{
    uint64_t v;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fd >= 0);
    printf("eventfd empty read: %s\n", ERR(read(fd, &v, 8)));
    writeu64(fd, 3);
    writeu64(fd, 4);
    printf("eventfd read: %llu\n", (unsigned long long)readu64(fd));
    printf("eventfd short read: %s\n", ERR(read(fd, &v, 4)));
    v = UINT64_MAX;
    printf("eventfd write 2^64-1: %s\n", ERR(write(fd, &v, 8)));
    writeu64(fd, UINT64_MAX - 1);
    v = 1;
    printf("eventfd write past the limit: %s\n", ERR(write(fd, &v, 8)));
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    CHECK(poll(&p, 1, 0) == 1);
    printf("eventfd full: revents %s\n", p.revents == POLLIN ? "IN" : "other");
    printf("eventfd full read: %llx\n", (unsigned long long)readu64(fd));
    close(fd);

    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(fd >= 0);
    unsigned long long a = readu64(fd), b = readu64(fd);
    printf("semaphore reads: %llu %llu then %s\n", a, b, ERR(read(fd, &v, 8)));
    close(fd);
}

/* A child writes to a pipe and waits for an answer; the parent waits in epoll. */
static void epoll_fork(void)
{
    int to_parent[2], to_child[2];
    CHECK(pipe(to_parent) == 0 && pipe(to_child) == 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    CHECK(add(ep, to_parent[0], EPOLLIN, 42) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(to_parent[0]);
        close(to_child[1]);
        struct timespec ts = { 0, 20 * MS };
        nanosleep(&ts, NULL);
        CHECK(write(to_parent[1], "ping", 4) == 4);
        char c;
        CHECK(read(to_child[0], &c, 1) == 1);
        _exit(0);
    }
    close(to_parent[1]);
    close(to_child[0]);
    wait_print("pipe from child", ep, -1);
    char buf[8];
    CHECK(read(to_parent[0], buf, sizeof buf) == 4);
    printf("read from child: %.4s\n", buf);
    CHECK(write(to_child[1], "k", 1) == 1);
    wait_print("pipe after child exit", ep, -1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(to_parent[0]);
    close(to_child[1]);
    close(ep);
}

static void triggering(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int lt = epoll_create1(0), et = epoll_create1(0), one = epoll_create1(0);
    CHECK(lt >= 0 && et >= 0 && one >= 0);
    CHECK(add(lt, p[0], EPOLLIN, 1) == 0);
    CHECK(add(et, p[0], EPOLLIN | EPOLLET, 2) == 0);
    CHECK(add(one, p[0], EPOLLIN | EPOLLONESHOT, 0x1122334455667788ULL) == 0);
    wait_print("level, empty", lt, 0);
    CHECK(write(p[1], "a", 1) == 1);
    wait_print("level, after write", lt, 0);
    wait_print("level, again", lt, 0);
    wait_print("edge, after write", et, 0);
    wait_print("edge, again", et, 0);
    wait_print("oneshot, after write", one, 0);
    CHECK(write(p[1], "b", 1) == 1);
    wait_print("edge, second write", et, 0);
    wait_print("oneshot, second write", one, 0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 7 };
    CHECK(epoll_ctl(one, EPOLL_CTL_MOD, p[0], &ev) == 0);
    wait_print("oneshot, re-armed", one, 0);
    char buf[4];
    CHECK(read(p[0], buf, sizeof buf) == 2);
    wait_print("level, drained", lt, 0);
    wait_print("edge, drained", et, 0);
    close(p[0]);
    close(p[1]);
    close(lt);
    close(et);
    close(one);
}

static void errors(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int ep = epoll_create1(0), ep2 = epoll_create1(0);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(ep >= 0 && ep2 >= 0 && dir >= 0);
    struct epoll_event ev = { .events = EPOLLIN };
    printf("epoll_create1(-1): %s\n", ERR(epoll_create1(-1)));
    printf("ADD: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("ADD again: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("MOD absent: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev)));
    printf("DEL absent: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    printf("DEL: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    printf("ADD itself: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev)));
    printf("ADD a directory: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev)));
    printf("epfd not an epoll: %s\n", ERR(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev)));
    printf("bad op: %s\n", ERR(epoll_ctl(ep, 99, p[0], &ev)));
    printf("bad fd: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev)));
    printf("ADD ep2 to ep: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev)));
    printf("ADD ep to ep2 (loop): %s\n", ERR(epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev)));
    struct epoll_event out[1];
    printf("maxevents 0: %s\n", ERR(epoll_wait(ep, out, 0, 0)));
    printf("wait on a pipe: %s\n", ERR(epoll_wait(p[0], out, 1, 0)));
    close(dir);
    close(p[0]);
    close(p[1]);
    close(ep);
    close(ep2);
}

static void nested(void)
{
    int inner = epoll_create1(0), outer = epoll_create1(0), efd = eventfd(0, 0);
    CHECK(inner >= 0 && outer >= 0 && efd >= 0);
    CHECK(add(inner, efd, EPOLLIN, 5) == 0);
    CHECK(add(outer, inner, EPOLLIN, 6) == 0);
    wait_print("outer, eventfd at 0", outer, 0);
    writeu64(efd, 1);
    wait_print("outer, eventfd written", outer, 0);
    wait_print("inner", inner, 0);
    struct pollfd p = { .fd = inner, .events = POLLIN };
    printf("poll on inner: %d\n", poll(&p, 1, 0));
    close(efd);
    close(inner);
    close(outer);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

static void masks(void)
{
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
    raise(SIGUSR1);
    struct epoll_event out[1];
    /* The pending signal is let through by the temporary mask: EINTR, never restarted. */
    const char *r = ERR(epoll_pwait(ep, out, 1, -1, &empty));
    printf("epoll_pwait unblocking SIGUSR1: %s, handler %s\n", r, got_usr1 == SIGUSR1 ? "ran" : "did not run");
    sigset_t now;
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
    printf("mask restored: %s\n", sigismember(&now, SIGUSR1) ? "yes" : "no");
    CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
    /* epoll_pwait2 (Linux 5.11) is checked where it exists: qemu-user does not have it, and
       the output must be the same everywhere. */
    struct timespec ts = { 0, 10 * MS };
    long r2 = syscall(SYS_epoll_pwait2, ep, out, 1, &ts, NULL, 8);
    if (!(r2 == -1 && errno == ENOSYS)) {
        CHECK(r2 == 0);
        ts.tv_nsec = 1000000000;
        CHECK(syscall(SYS_epoll_pwait2, ep, out, 1, &ts, NULL, 8) == -1 && errno == EINVAL);
    }
    close(ep);
}

static void timers(void)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(tfd >= 0);
    struct itimerspec its = { .it_interval = { 0, 10 * MS }, .it_value = { 0, 10 * MS } }, cur;
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    uint64_t total = 0;
    int reads = 0;
    while (total < 5) {
        uint64_t n = readu64(tfd);
        CHECK(n >= 1);
        total += n;
        reads++;
    }
    printf("interval timer: 5 expirations in at most 5 blocking reads: %s\n", reads <= 5 ? "yes" : "no");
    CHECK(timerfd_gettime(tfd, &cur) == 0);
    printf("gettime: interval %ld ns, value in (0, 10ms]: %s\n", cur.it_interval.tv_nsec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 10 * MS ? "yes" : "no");

    int ep = epoll_create1(0);
    CHECK(ep >= 0 && add(ep, tfd, EPOLLIN, 9) == 0);
    (void)readu64(tfd); /* whatever has expired so far */
    wait_print("epoll on the interval timer", ep, -1);
    struct itimerspec off = { { 0, 0 }, { 0, 0 } };
    CHECK(timerfd_settime(tfd, 0, &off, &cur) == 0);
    printf("disarmed; old interval %ld ns\n", cur.it_interval.tv_nsec);
    wait_print("epoll on the disarmed timer", ep, 30);
    close(ep);
    close(tfd);

    tfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    CHECK(tfd >= 0);
    struct itimerspec once = { { 0, 0 }, { 0, 20 * MS } };
    CHECK(timerfd_settime(tfd, 0, &once, NULL) == 0);
    uint64_t v;
    printf("one-shot before expiry: %s\n", ERR(read(tfd, &v, 8)));
    struct pollfd p = { .fd = tfd, .events = POLLIN };
    int n = poll(&p, 1, -1);
    printf("poll until it fires: %d revents %s\n", n, p.revents == POLLIN ? "IN" : "other");
    printf("one-shot read: %llu\n", (unsigned long long)readu64(tfd));
    CHECK(timerfd_gettime(tfd, &cur) == 0);
    printf("one-shot after: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    close(tfd);

    tfd = timerfd_create(CLOCK_REALTIME, 0);
    CHECK(tfd >= 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec += 30 * MS;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    struct itimerspec at = { { 0, 0 }, now };
    CHECK(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &at, NULL) == 0);
    printf("realtime absolute, blocking read: %llu\n", (unsigned long long)readu64(tfd));
    printf("timerfd bad flags: %s\n", ERR(timerfd_settime(tfd, 0x100, &at, NULL)));
    printf("timerfd bad clock: %s\n", ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
    close(tfd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    eventfds();
    epoll_fork();
    triggering();
    errors();
    nested();
    masks();
    timers();
    printf("done\n");
    return 0;
}
