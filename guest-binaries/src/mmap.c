/* mmap: anonymous and file-backed mappings, mprotect, munmap of a hole,
 * mremap growth, brk growth and a 64 MB malloc.
 * Prints checksums of contents (never addresses). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096
#define FNAME "mmap.tmp"

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

/* FNV-1a over a byte range. */
static uint32_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    while (n--)
        h = (h ^ *b++) * 16777619u;
    return h;
}

static int all_zero(const unsigned char *p, size_t n)
{
    while (n--)
        if (*p++)
            return 0;
    return 1;
}

/* Fill with a pattern that depends on the page index. */
static void fill(unsigned char *p, size_t pages)
{
    for (size_t i = 0; i < pages * PG; i++)
        p[i] = (unsigned char)((i / PG) * 7 + i * 13);
}

int main(void)
{
    printf("page size: %ld\n", sysconf(_SC_PAGESIZE));

    /* brk: grow by 1 MB + 1 byte (unaligned), touch it, shrink back.
     * Raw syscall: musl's sbrk() refuses non-zero increments. Nothing is
     * printed until brk is restored so stdio cannot allocate meanwhile. */
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t want = cur + (1 << 20) + 1;
    uintptr_t got = (uintptr_t)syscall(SYS_brk, want);
    int brk_ok = got == want;
    uint32_t brk_sum = 0;
    if (brk_ok) {
        memset((void *)cur, 0x5a, want - cur);
        brk_sum = fnv((void *)cur, want - cur);
    }
    uintptr_t back = (uintptr_t)syscall(SYS_brk, cur);
    printf("brk grow: %s\n", brk_ok ? "ok" : "FAILED");
    printf("brk checksum: %08x\n", brk_sum);
    printf("brk shrink back: %s\n", back == cur ? "ok" : "FAILED");

    /* Anonymous mapping of 8 pages: starts zeroed, keeps what we write. */
    unsigned char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    printf("anon zero-filled: %s\n", all_zero(a, 8 * PG) ? "yes" : "no");
    fill(a, 8);
    printf("anon checksum: %08x\n", fnv(a, 8 * PG));

    /* mprotect read-only: still readable; then writable again. */
    CHECK(mprotect(a, 8 * PG, PROT_READ) == 0);
    printf("read-only checksum: %08x\n", fnv(a, 8 * PG));
    CHECK(mprotect(a, 8 * PG, PROT_READ | PROT_WRITE) == 0);
    a[8 * PG - 1] ^= 0xff;
    printf("rewritten checksum: %08x\n", fnv(a, 8 * PG));

    /* munmap page 3: msync on the hole fails with ENOMEM, neighbours live. */
    CHECK(munmap(a + 3 * PG, PG) == 0);
    int r = msync(a + 3 * PG, PG, MS_ASYNC);
    printf("msync on hole: %s\n", r == -1 && errno == ENOMEM ? "ENOMEM" : "unexpected");
    printf("msync on page 2: %s\n", msync(a + 2 * PG, PG, MS_ASYNC) == 0 ? "ok" : "failed");
    printf("pages 0-2 checksum: %08x\n", fnv(a, 3 * PG));
    printf("pages 4-7 checksum: %08x\n", fnv(a + 4 * PG, 4 * PG));
    CHECK(munmap(a, 3 * PG) == 0 && munmap(a + 4 * PG, 4 * PG) == 0);

    /* mremap: grow 2 pages to 64 pages; old data kept, new part zeroed. */
    unsigned char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    fill(m, 2);
    uint32_t before = fnv(m, 2 * PG);
    /* Block growth in place so the kernel (or emulator) has to move it. */
    unsigned char *blocker = mmap(m + 2 * PG, PG, PROT_READ,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *g = mremap(m, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED);
    printf("mremap keeps data: %s\n", fnv(g, 2 * PG) == before ? "yes" : "no");
    printf("mremap new part zeroed: %s\n", all_zero(g + 2 * PG, 62 * PG) ? "yes" : "no");
    g[64 * PG - 1] = 1;
    printf("mremap last byte writable: %s\n", g[64 * PG - 1] == 1 ? "yes" : "no");
    /* Shrink in place. */
    unsigned char *s = mremap(g, 64 * PG, 4 * PG, 0);
    printf("mremap shrink in place: %s\n", s == g ? "yes" : "no");
    CHECK(munmap(s, 4 * PG) == 0);
    if (blocker != MAP_FAILED)
        munmap(blocker, PG);

    /* Private file mapping of a file we wrote. */
    static const char text[] = "line one of mmap.tmp\nline two\n";
    int fd = open(FNAME, O_CREAT | O_TRUNC | O_RDWR, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    char *f = mmap(NULL, sizeof text - 1, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(f != MAP_FAILED);
    printf("file mapping says:\n");
    fwrite(f, 1, sizeof text - 1, stdout);
    printf("rest of the page zero: %s\n",
           all_zero((unsigned char *)f + sizeof text - 1, PG - (sizeof text - 1)) ? "yes" : "no");
    /* Writing to a MAP_PRIVATE mapping must not reach the file. */
    f[0] = 'L';
    char back_buf[8] = {0};
    CHECK(pread(fd, back_buf, 4, 0) == 4);
    printf("private write visible in mapping: %.4s, in file: %s\n", f, back_buf);
    CHECK(munmap(f, sizeof text - 1) == 0);
    /* Mapping at a page offset: second page of a 2-page file. */
    char page[PG];
    memset(page, 'q', PG);
    CHECK(pwrite(fd, page, PG, PG) == PG);
    char *f2 = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
    CHECK(f2 != MAP_FAILED);
    printf("offset mapping checksum: %08x\n", fnv(f2, PG));
    CHECK(munmap(f2, PG) == 0);
    close(fd);
    CHECK(unlink(FNAME) == 0);

    /* 64 MB malloc, touch every page. */
    size_t big = 64u << 20;
    unsigned char *p = malloc(big);
    CHECK(p != NULL);
    for (size_t i = 0; i < big; i += PG)
        p[i] = (unsigned char)(i >> 12);
    uint32_t sum = 0;
    for (size_t i = 0; i < big; i += PG)
        sum = sum * 31 + p[i];
    printf("malloc 64MB touched: %08x\n", sum);
    free(p);

    printf("ok\n");
    return 0;
}
