/* stat: stat/lstat/fstat/statx on a file, a directory and a symlink,
 * readlink and access. Only filesystem-independent fields are printed
 * (no inode numbers, times, devices, block counts or directory sizes). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FILE_ "stat.file"
#define DIR_  "stat.dir"
#define LINK_ "stat.link"

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

/* Our own copy of the kernel's struct statx (linux/stat.h), so the test
 * builds against libcs without a statx() wrapper (musl < 1.2.5). */
struct kstatx_ts { int64_t tv_sec; uint32_t tv_nsec; int32_t pad; };
struct kstatx {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, pad1;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct kstatx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare[14];
};
#define K_STATX_TYPE 0x1u
#define K_STATX_MODE 0x2u
#define K_STATX_SIZE 0x200u
#define K_STATX_BASIC_STATS 0x7ffu
#define K_AT_SYMLINK_NOFOLLOW 0x100

static const char *type(unsigned mode)
{
    return S_ISREG(mode) ? "reg" : S_ISDIR(mode) ? "dir" :
           S_ISLNK(mode) ? "lnk" : "other";
}

static void show(const char *what, const struct stat *st, int with_size)
{
    printf("%s: type=%s mode=%03o", what, type(st->st_mode),
           (unsigned)(st->st_mode & 0777));
    if (with_size)
        printf(" size=%ld", (long)st->st_size);
    printf("\n");
}

static void show_statx(const char *path, int flags)
{
    struct kstatx sx;
    memset(&sx, 0xff, sizeof sx);
    long r = syscall(SYS_statx, AT_FDCWD, path, flags, K_STATX_BASIC_STATS, &sx);
    if (r != 0) {
        printf("statx %s: failed errno=%d\n", path, errno);
        return;
    }
    printf("statx %s%s: mask has type|mode|size=%s type=%s mode=%03o",
           path, flags ? " (nofollow)" : "",
           (sx.stx_mask & (K_STATX_TYPE | K_STATX_MODE | K_STATX_SIZE)) ==
               (K_STATX_TYPE | K_STATX_MODE | K_STATX_SIZE) ? "yes" : "no",
           type(sx.stx_mode), sx.stx_mode & 0777u);
    if (!S_ISDIR(sx.stx_mode))
        printf(" size=%llu", (unsigned long long)sx.stx_size);
    printf("\n");
}

static void try_access(const char *path, int mode, const char *name)
{
    int r = access(path, mode);
    printf("access(%s, %s): %s\n", path, name,
           r == 0 ? "0" : errno == ENOENT ? "ENOENT" :
           errno == EACCES ? "EACCES" : "other error");
}

int main(void)
{
    struct stat st;
    char buf[64];

    umask(022);
    unlink(LINK_);
    unlink(FILE_);
    rmdir(DIR_);

    /* A regular file with 1000 bytes. */
    int fd = open(FILE_, O_CREAT | O_TRUNC | O_WRONLY, 0666);
    CHECK(fd >= 0);
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 1000; i += 50)
        CHECK(write(fd, buf, 50) == 50);
    CHECK(fstat(fd, &st) == 0);
    show("fstat " FILE_, &st, 1);
    close(fd);
    CHECK(mkdir(DIR_, 0777) == 0);
    CHECK(symlink(FILE_, LINK_) == 0);

    CHECK(stat(FILE_, &st) == 0);
    show("stat " FILE_, &st, 1);
    printf("stat " FILE_ ": nlink=%lu\n", (unsigned long)st.st_nlink);
    CHECK(stat(DIR_, &st) == 0);
    show("stat " DIR_, &st, 0);
    CHECK(stat(LINK_, &st) == 0);
    show("stat " LINK_, &st, 1);
    CHECK(lstat(LINK_, &st) == 0);
    show("lstat " LINK_, &st, 1); /* size = strlen of the target */
    CHECK(lstat(FILE_, &st) == 0);
    show("lstat " FILE_, &st, 1);

    /* fstatat on the directory through a dir fd. */
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(fstatat(dfd, LINK_, &st, AT_SYMLINK_NOFOLLOW) == 0);
    show("fstatat nofollow " LINK_, &st, 1);
    close(dfd);

    /* statx via the raw syscall. */
    show_statx(FILE_, 0);
    show_statx(DIR_, 0);
    show_statx(LINK_, 0);
    show_statx(LINK_, K_AT_SYMLINK_NOFOLLOW);

    /* readlink does not NUL-terminate. */
    memset(buf, 0, sizeof buf);
    ssize_t n = readlink(LINK_, buf, sizeof buf);
    printf("readlink " LINK_ ": %zd \"%s\"\n", n, buf);

    /* access(): no x bit on the file, so X_OK fails even for root. */
    try_access(FILE_, F_OK, "F_OK");
    try_access(FILE_, R_OK, "R_OK");
    try_access(FILE_, W_OK, "W_OK");
    try_access(FILE_, X_OK, "X_OK");
    try_access(DIR_, X_OK, "X_OK");
    try_access("stat.missing", F_OK, "F_OK");

    /* chmod, then look again. */
    CHECK(chmod(FILE_, 0600) == 0);
    CHECK(stat(FILE_, &st) == 0);
    show("after chmod 600", &st, 1);

    /* Clean up. */
    CHECK(unlink(LINK_) == 0);
    CHECK(unlink(FILE_) == 0);
    CHECK(rmdir(DIR_) == 0);
    printf("cleaned up: %s\n", stat(FILE_, &st) != 0 && errno == ENOENT ? "yes" : "no");
    printf("ok\n");
    return 0;
}
