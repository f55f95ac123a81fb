/* restart: SA_RESTART vs EINTR for a read() blocked on an empty pipe.
 * For each case the parent forks a child that sleeps 100 ms, sends SIGUSR1
 * to the parent, sleeps another 50 ms and then writes one byte into the
 * pipe. The parent is blocked in read() on the pipe meanwhile:
 *   - handler with SA_RESTART:    read() is restarted and returns the byte
 *   - handler without SA_RESTART: read() fails with EINTR (then a second
 *                                 read() gets the byte)
 * Takes about 0.3 s. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

static volatile sig_atomic_t calls;

static void handler(int sig) { calls++; }

static void msleep(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void run(const char *name, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    calls = 0;

    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t parent = getpid(), pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        msleep(100);
        kill(parent, SIGUSR1);
        msleep(50);
        _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
    }
    close(p[1]);

    char c = 0;
    errno = 0;
    ssize_t r = read(p[0], &c, 1);
    int e = errno;
    if (r == 1)
        printf("%s: read returned 1 byte '%c', handler calls %d\n", name, c, (int)calls);
    else if (r == -1 && e == EINTR)
        printf("%s: read returned -1 EINTR, handler calls %d\n", name, (int)calls);
    else
        printf("%s: read returned %zd, errno %d, handler calls %d\n", name, r, e,
               (int)calls);
    if (r == -1 && e == EINTR) {
        r = read(p[0], &c, 1);
        printf("%s: read again returned %zd byte '%c'\n", name, r, r == 1 ? c : '?');
    }
    r = read(p[0], &c, 1);
    printf("%s: then EOF: %s\n", name, r == 0 ? "yes" : "no");
    close(p[0]);

    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("%s: child exit status %d\n", name, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* nanosleep interrupted by a handler fails with EINTR and leaves the time it had left in rem. */
static void sleep_rem(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 0 }, { 0, 100000 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    struct timespec req = { 2, 0 }, rem = { 0, 0 };
    int r = nanosleep(&req, &rem);
    int e = errno;
    printf("nanosleep 2 s, SIGALRM after 0.1 s: %s, rem between 1 and 2 s: %s\n",
           r == -1 && e == EINTR ? "EINTR" : "WRONG", rem.tv_sec == 1 ? "yes" : "no");
}

int main(void)
{
    run("SA_RESTART", SA_RESTART);
    run("no SA_RESTART", 0);
    sleep_rem();
    printf("ok\n");
    return 0;
}
