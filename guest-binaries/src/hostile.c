/* hostile: guests that try to exhaust their host. NEVER run natively: they
 * are meant for tslinux's resource limits (test/hostile.test.ts runs them
 * under tslinux only, inside a host guard).
 *   hostile forkbomb   every process forks until fork fails; the first one
 *                      prints "forkbomb: fork failed: EAGAIN" and exits 0
 *   hostile malloc [M] allocates and touches M MiB blocks (default 1) until
 *                      malloc fails: "malloc: ENOMEM after N MiB", exit 0
 *   hostile fdleak     opens /dev/null until open fails:
 *                      "fdleak: EMFILE after N fds", exit 0
 *   hostile recurse    recurses without end: the stack overflows (SIGSEGV)
 *   hostile spin       calls getpid forever (only a timeout stops it)
 *   hostile maps       splits one mapping with mprotect on every other page
 *                      until mprotect fails: "maps: ENOMEM after N splits"
 *   hostile tmpfill    writes 1 MiB pieces into files in /tmp until a write
 *                      fails: "tmpfill: ENOSPC after N MiB"; then deletes them
 *                      and fills again: "tmpfill: deleted, then as much again"
 *   hostile memfdfill  the same with memfds (closed to free them): "memfdfill:
 *                      ENOMEM after N MiB", "memfdfill: closed, then as much again"
 *   hostile pipes      makes pipes of 1 MiB (F_SETPIPE_SZ) and fills them until
 *                      pipe or fcntl fails: "pipes: ENFILE after N pipes (M MiB
 *                      held)"; then closes them and makes as many again
 * Anything else prints usage and exits 2. */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static const char *errno_name(int e)
{
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOSPC: return "ENOSPC";
    case EFBIG: return "EFBIG";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

static int forkbomb(void)
{
    pid_t first = getpid();
    for (;;) {
        pid_t pid = fork();
        if (pid >= 0)
            continue; /* parent and child both go on forking */
        if (getpid() != first)
            _exit(1); /* children give up quietly (and stay zombies: nobody waits) */
        printf("forkbomb: fork failed: %s\n", errno_name(errno));
        return 0;
    }
}

static int malloc_loop(long block_mib)
{
    const size_t block = (size_t)block_mib << 20;
    for (long mib = 0;; mib += block_mib) {
        char *p = malloc(block);
        if (!p) {
            printf("malloc: %s after %ld MiB\n", errno_name(errno), mib);
            return 0;
        }
        memset(p, 0xa5, block); /* touch every page: really use the memory */
    }
}

static char chunk[1 << 20];

/* Write 1 MiB pieces into files of 64 MiB made by `next_file` until a write
 * (or making a file) fails; the files stay open in `fds`. Returns MiB written. */
static long fill(int (*next_file)(int n), int *fds, int *nfds, int *err)
{
    memset(chunk, 0x5a, sizeof chunk);
    long mib = 0;
    for (*nfds = 0; *nfds < 4096; (*nfds)++) {
        int fd = next_file(*nfds);
        if (fd < 0) {
            *err = errno;
            return mib;
        }
        fds[*nfds] = fd;
        for (int i = 0; i < 64; i++) {
            ssize_t n = write(fd, chunk, sizeof chunk);
            if (n < 0) {
                *err = errno;
                (*nfds)++;
                return mib;
            }
            mib += n == (ssize_t)sizeof chunk;
        }
    }
    *err = 0;
    return mib;
}

static int tmp_file(int n)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fill%d", n);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
}

static int memfd_file(int n)
{
    return (int)syscall(SYS_memfd_create, "fill", 0);
}

static int fds[4096];

/* Fill, free (close, and unlink for /tmp), fill again: the second fill gets as much. */
static int fill_twice(const char *name, int (*next_file)(int n), int unlink_too)
{
    int n, err;
    long first = 0, again = 0;
    for (int round = 0; round < 2; round++) {
        long got = fill(next_file, fds, &n, &err);
        if (round == 0) {
            first = got;
            printf("%s: %s after %ld MiB\n", name, errno_name(err), got);
        } else {
            again = got;
        }
        for (int i = 0; i < n; i++) {
            close(fds[i]);
            if (unlink_too) {
                char path[64];
                snprintf(path, sizeof path, "/tmp/fill%d", i);
                unlink(path);
            }
        }
    }
    printf("%s: %s, then %s\n", name, unlink_too ? "deleted" : "closed",
           again >= first - 2 ? "as much again" : "less");
    return 0;
}

static int pipe_fds[4096];

/* Pipes of 1 MiB filled until one cannot be made; returns how many (their fds in pipe_fds). */
static int make_pipes(int *err, long *held)
{
    static char piece[1 << 16];
    int n = 0;
    *held = 0;
    while (2 * n + 1 < 4096) {
        int p[2];
        if (pipe(p) != 0) {
            *err = errno;
            return n;
        }
        pipe_fds[2 * n] = p[0];
        pipe_fds[2 * n + 1] = p[1];
        n++;
        if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) {
            *err = errno;
            return n;
        }
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        ssize_t w;
        while ((w = write(p[1], piece, sizeof piece)) > 0)
            *held += w;
    }
    *err = 0;
    return n;
}

static int pipes(void)
{
    int err;
    long held;
    int n = make_pipes(&err, &held);
    printf("pipes: %s after %d pipes (%ld MiB held)\n", errno_name(err), n, held >> 20);
    for (int i = 0; i < 2 * n; i++)
        close(pipe_fds[i]);
    long again_held;
    int again = make_pipes(&err, &again_held);
    printf("pipes: closed, then %s\n", again >= n - 1 ? "as many again" : "fewer");
    return 0;
}

static int fd_leak(void)
{
    for (long n = 0;; n++) {
        if (open("/dev/null", O_RDONLY) < 0) {
            printf("fdleak: %s after %ld fds\n", errno_name(errno), n);
            return 0;
        }
    }
}

static volatile long depth_sink;

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static long recurse(long depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    depth_sink = depth;
    return recurse(depth + 1) + frame[0]; /* not a tail call */
}

__attribute__((noreturn)) static void spin(void)
{
    printf("spin: calling getpid forever\n");
    fflush(stdout);
    for (;;)
        getpid();
}

static int split_maps(void)
{
    const size_t page = 4096, pages = 16384; /* 64 MiB */
    char *base = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        printf("maps: mmap failed: %s\n", errno_name(errno));
        return 1;
    }
    for (size_t i = 1; i < pages; i += 2) {
        if (mprotect(base + i * page, page, PROT_READ) != 0) {
            printf("maps: %s after %zu splits\n", errno_name(errno), i / 2);
            return 0;
        }
    }
    printf("maps: every split succeeded\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(what, "forkbomb") == 0) return forkbomb();
    if (strcmp(what, "malloc") == 0) return malloc_loop(argc > 2 ? atol(argv[2]) : 1);
    if (strcmp(what, "fdleak") == 0) return fd_leak();
    if (strcmp(what, "recurse") == 0) {
        printf("recurse: going down\n");
        return (int)recurse(0);
    }
    if (strcmp(what, "spin") == 0) spin();
    if (strcmp(what, "maps") == 0) return split_maps();
    if (strcmp(what, "tmpfill") == 0) return fill_twice("tmpfill", tmp_file, 1);
    if (strcmp(what, "memfdfill") == 0) return fill_twice("memfdfill", memfd_file, 0);
    if (strcmp(what, "pipes") == 0) return pipes();
    fprintf(stderr, "usage: hostile forkbomb|malloc [MiB]|fdleak|recurse|spin|maps|tmpfill|memfdfill|pipes\n");
    return 2;
}
