/* hostile: guests that try to exhaust their host. NEVER run natively: they
 * are meant for tslinux's resource limits (test/hostile.test.ts runs them
 * under tslinux only, inside a host guard).
 *   hostile forkbomb   every process forks until fork fails; the first one
 *                      prints "forkbomb: fork failed: EAGAIN" and exits 0
 *   hostile malloc     allocates and touches 1 MiB blocks until malloc
 *                      fails: "malloc: ENOMEM after N MiB", exit 0
 *   hostile fdleak     opens /dev/null until open fails:
 *                      "fdleak: EMFILE after N fds", exit 0
 *   hostile recurse    recurses without end: the stack overflows (SIGSEGV)
 *   hostile spin       calls getpid forever (only a timeout stops it)
 *   hostile maps       splits one mapping with mprotect on every other page
 *                      until mprotect fails: "maps: ENOMEM after N splits"
 * Anything else prints usage and exits 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

static const char *errno_name(int e)
{
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
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

static int malloc_loop(void)
{
    const size_t block = 1 << 20;
    for (long mib = 0;; mib++) {
        char *p = malloc(block);
        if (!p) {
            printf("malloc: %s after %ld MiB\n", errno_name(errno), mib);
            return 0;
        }
        memset(p, 0xa5, block); /* touch every page: really use the memory */
    }
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
    if (strcmp(what, "malloc") == 0) return malloc_loop();
    if (strcmp(what, "fdleak") == 0) return fd_leak();
    if (strcmp(what, "recurse") == 0) {
        printf("recurse: going down\n");
        return (int)recurse(0);
    }
    if (strcmp(what, "spin") == 0) spin();
    if (strcmp(what, "maps") == 0) return split_maps();
    fprintf(stderr, "usage: hostile forkbomb|malloc|fdleak|recurse|spin|maps\n");
    return 2;
}
