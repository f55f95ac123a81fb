/* pipes: pipe semantics.
 *   pipes            all checks
 *   pipes stage N    one stage of the pipeline (N = 1, 2 or 3), exec'd by
 *                    the parent with stdin/stdout redirected by dup2
 * Checks: PIPE_BUF, capacity (F_GETPIPE_SZ, filling an O_NONBLOCK pipe until
 * EAGAIN, a partial write, F_SETPIPE_SZ), EAGAIN on an empty non-blocking
 * pipe, PIPE_BUF atomicity (two children write 1000 records of 4096 bytes
 * each into one pipe; no record may be interleaved), EOF once all writers
 * have closed, SIGPIPE (default action kills the writer) and EPIPE (SIGPIPE
 * ignored or caught), and a 3-stage pipeline of exec'd copies of itself
 * passing 1 MB through, checked by checksum. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

#define REC 4096
#define NREC 1000
#define MB (1024 * 1024)

static char self[PATH_MAX];

static const char *describe(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGPIPE ? " (SIGPIPE)" : "");
    else
        snprintf(buf, sizeof buf, "status %#x", st);
    return buf;
}

static const char *errname(int e)
{
    static char buf[32];
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    }
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

static pid_t xfork(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    return pid;
}

static int waitfor(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= w;
    }
    return 0;
}

/* ---- pipeline data: stage 1 generates, stage 2 transforms, stage 3 sums */
static uint32_t lcg = 12345;
static unsigned char gen_byte(void)
{
    lcg = lcg * 1103515245u + 12345u;
    return lcg >> 16;
}
static unsigned char transform(unsigned char c) { return (unsigned char)(c * 7 + 3) ^ 0x5a; }
static uint32_t fnv(uint32_t h, unsigned char c) { return (h ^ c) * 16777619u; }

static int stage(int n)
{
    static char buf[65536];
    if (n == 1) {
        size_t left = MB;
        while (left) {
            size_t k = left < 3000 ? left : 3000; /* odd-sized writes */
            for (size_t i = 0; i < k; i++)
                buf[i] = gen_byte();
            if (write_all(1, buf, k) != 0)
                return 1;
            left -= k;
        }
        return 0;
    }
    size_t total = 0;
    uint32_t h = 2166136261u;
    for (;;) {
        ssize_t r = read(0, buf, n == 2 ? 5000 : sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return 1;
        if (r == 0)
            break;
        total += r;
        if (n == 2) {
            for (ssize_t i = 0; i < r; i++)
                buf[i] = transform(buf[i]);
            if (write_all(1, buf, r) != 0)
                return 1;
        } else {
            for (ssize_t i = 0; i < r; i++)
                h = fnv(h, buf[i]);
        }
    }
    if (n == 3)
        printf("  stage 3 received %zu bytes, checksum %08x\n", total, h);
    return 0;
}

static void test_capacity(void)
{
    printf("PIPE_BUF: %d\n", PIPE_BUF);
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    printf("F_GETPIPE_SZ: %d\n", fcntl(p[1], F_GETPIPE_SZ));
    char c, buf[REC];
    memset(buf, 'p', sizeof buf);
    errno = 0;
    ssize_t r = read(p[0], &c, 1);
    printf("read of empty O_NONBLOCK pipe: %s\n", r == -1 ? errname(errno) : "WRONG");

    size_t total = 0;
    while ((r = write(p[1], buf, REC)) > 0)
        total += r;
    int e = errno;
    printf("filled with %d-byte writes until %s: %zu bytes\n", REC,
           r == -1 ? errname(e) : "WRONG", total);
    errno = 0;
    r = write(p[1], buf, 1);
    printf("1-byte write to the full pipe: %s\n", r == -1 ? errname(errno) : "WRONG");
    CHECK(read(p[0], buf, REC) == REC);
    static char big[3 * REC];
    r = write(p[1], big, sizeof big);
    printf("after reading %d bytes, a %zu-byte write writes %zd\n", REC, sizeof big, r);
    close(p[0]);
    close(p[1]);

    CHECK(pipe2(p, O_NONBLOCK) == 0);
    r = fcntl(p[1], F_SETPIPE_SZ, 10000);
    printf("F_SETPIPE_SZ 10000: returns %zd, F_GETPIPE_SZ %d\n", r,
           fcntl(p[0], F_GETPIPE_SZ));
    total = 0;
    while ((r = write(p[1], buf, REC)) > 0)
        total += r;
    printf("filled: %zu bytes\n", total);
    close(p[0]);
    close(p[1]);
}

static void test_atomic(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = xfork();
        if (kids[k] == 0) {
            close(p[0]);
            static char rec[REC];
            memset(rec, 'A' + k, sizeof rec);
            for (int i = 0; i < NREC; i++)
                if (write(p[1], rec, REC) != REC)
                    _exit(1);
            _exit(0);
        }
    }
    close(p[1]);
    static char buf[65536];
    char first = 0;
    size_t pos = 0, total = 0;
    int records[2] = { 0, 0 }, mixed = 0, recmixed = 0;
    ssize_t r;
    while ((r = read(p[0], buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        CHECK(r > 0);
        total += r;
        for (ssize_t i = 0; i < r; i++) {
            if (pos == 0)
                first = buf[i];
            else if (buf[i] != first)
                recmixed = 1;
            if (++pos == REC) {
                if (recmixed || (first != 'A' && first != 'B'))
                    mixed++;
                else
                    records[first - 'A']++;
                pos = 0;
                recmixed = 0;
            }
        }
    }
    printf("atomic writes: %zu bytes, records A %d, B %d, interleaved %d, "
           "partial %zu\n", total, records[0], records[1], mixed, pos);
    printf("read returned 0 (EOF) after both writers exited\n");
    printf("writers: %s", describe(waitfor(kids[0])));
    printf(", %s\n", describe(waitfor(kids[1])));
    close(p[0]);
}

static volatile sig_atomic_t sigpipe_calls;
static void on_sigpipe(int sig) { sigpipe_calls++; }

static void test_epipe(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]); /* before the fork: the child's write has no reader */
    pid_t pid = xfork();
    if (pid == 0) {
        write(p[1], "x", 1); /* SIGPIPE */
        _exit(0);
    }
    close(p[1]);
    int st = waitfor(pid);
    printf("write with no reader, SIGPIPE default: %s, WTERMSIG == SIGPIPE: %s\n",
           describe(st), WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? "yes" : "no");

    signal(SIGPIPE, SIG_IGN);
    CHECK(pipe(p) == 0);
    close(p[0]);
    errno = 0;
    ssize_t r = write(p[1], "x", 1);
    printf("write with no reader, SIGPIPE ignored: %s\n", r == -1 ? errname(errno) : "WRONG");
    close(p[1]);

    signal(SIGPIPE, on_sigpipe);
    CHECK(pipe(p) == 0);
    close(p[0]);
    errno = 0;
    r = write(p[1], "x", 1);
    printf("write with no reader, SIGPIPE caught: %s, handler calls %d\n",
           r == -1 ? errname(errno) : "WRONG", (int)sigpipe_calls);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);

    /* EOF: only once every write end is closed */
    CHECK(pipe(p) == 0);
    int dupw = dup(p[1]);
    close(p[1]);
    CHECK(write(dupw, "hi", 2) == 2);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    char buf[8];
    r = read(p[0], buf, sizeof buf);
    errno = 0;
    ssize_t r2 = read(p[0], buf, sizeof buf);
    printf("read with a dup'ed writer open: %zd bytes, then %s\n", r,
           r2 == -1 ? errname(errno) : "WRONG");
    close(dupw);
    r = read(p[0], buf, sizeof buf);
    printf("after closing the last writer: read returns %zd (EOF)\n", r);
    close(p[0]);
}

static void test_pipeline(void)
{
    int a[2], b[2];
    CHECK(pipe(a) == 0);
    CHECK(pipe(b) == 0);
    pid_t kids[3];
    for (int n = 1; n <= 3; n++) {
        kids[n - 1] = xfork();
        if (kids[n - 1] == 0) {
            int in = n == 1 ? -1 : n == 2 ? a[0] : b[0];
            int out = n == 1 ? a[1] : n == 2 ? b[1] : -1;
            if (in >= 0)
                dup2(in, 0);
            if (out >= 0)
                dup2(out, 1);
            close(a[0]);
            close(a[1]);
            close(b[0]);
            close(b[1]);
            char num[2] = { (char)('0' + n), 0 };
            char *argv[] = { self, "stage", num, NULL };
            execv(self, argv);
            _exit(127);
        }
    }
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    int ok = 1;
    for (int n = 1; n <= 3; n++) {
        int st = waitfor(kids[n - 1]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("pipeline stage %d: %s\n", n, describe(st));
            ok = 0;
        }
    }
    uint32_t h = 2166136261u;
    for (int i = 0; i < MB; i++)
        h = fnv(h, transform(gen_byte()));
    printf("pipeline: expected %d bytes, checksum %08x; stages %s\n", MB, h,
           ok ? "all exited 0" : "FAILED");
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "stage") == 0)
        return stage(atoi(argv[2]));

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strchr(argv[0], '/')) {
        CHECK(realpath(argv[0], self) != NULL);
    } else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        CHECK(n > 0);
        self[n] = 0;
    }
    test_capacity();
    test_atomic();
    test_epipe();
    test_pipeline();
    printf("ok\n");
    return 0;
}
