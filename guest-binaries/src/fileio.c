/* fileio: basic file descriptor I/O in the current directory.
 * open/write/lseek/pread/pwrite/readv/writev, O_APPEND, dup/dup2,
 * fcntl (GETFL/SETFL/GETFD/SETFD/DUPFD/DUPFD_CLOEXEC), rename, unlink.
 * fd numbers are only printed when POSIX fixes them (dup2 target,
 * F_DUPFD lower bound), so inherited descriptors do not change output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define NAME "fileio.tmp"
#define NAME2 "fileio-renamed.tmp"

/* Abort the test with a message if a call fails. */
#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

static long off(int fd) { return (long)lseek(fd, 0, SEEK_CUR); }

/* Print the access mode and O_APPEND bit; raw flag values differ by arch. */
static void show_fl(const char *what, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    int acc = fl & O_ACCMODE;
    printf("%s: F_GETFL acc=%s append=%s\n", what,
           acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" :
           acc == O_RDWR ? "O_RDWR" : "?", (fl & O_APPEND) ? "yes" : "no");
}

static void show_file(const char *path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n >= 0);
    buf[n] = 0;
    printf("content (%zd bytes): \"%s\"\n", n, buf);
    close(fd);
}

int main(void)
{
    char buf[64];
    unlink(NAME);
    unlink(NAME2);

    /* Create and write sequentially. */
    int fd = open(NAME, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0);
    printf("write: %zd\n", write(fd, "0123456789", 10));
    printf("offset after write: %ld\n", off(fd));
    printf("lseek SEEK_END: %ld\n", (long)lseek(fd, 0, SEEK_END));
    printf("lseek SEEK_SET 2: %ld\n", (long)lseek(fd, 2, SEEK_SET));
    printf("write at 2: %zd\n", write(fd, "ab", 2));
    printf("lseek SEEK_CUR -1: %ld\n", (long)lseek(fd, -1, SEEK_CUR));

    /* pwrite must not move the file offset. */
    printf("pwrite at 8: %zd\n", pwrite(fd, "XY", 2, 8));
    printf("offset after pwrite: %ld\n", off(fd));

    /* writev at end of file. */
    struct iovec wv[3] = {
        { "-hello", 6 }, { " ", 1 }, { "world-", 6 },
    };
    lseek(fd, 0, SEEK_END);
    printf("writev: %zd\n", writev(fd, wv, 3));
    printf("offset after writev: %ld\n", off(fd));
    CHECK(close(fd) == 0);
    show_file(NAME);

    /* Read back: pread, readv, read at EOF. */
    fd = open(NAME, O_RDWR);
    CHECK(fd >= 0);
    show_fl("O_RDWR fd", fd);
    memset(buf, 0, sizeof buf);
    printf("pread 4 at 2: %zd \"%.4s\"\n", pread(fd, buf, 4, 2), buf);
    printf("offset after pread: %ld\n", off(fd));
    char r1[4] = {0}, r2[5] = {0}, r3[6] = {0};
    struct iovec rv[3] = { { r1, 3 }, { r2, 4 }, { r3, 5 } };
    printf("readv: %zd \"%s\" \"%s\" \"%s\"\n", readv(fd, rv, 3), r1, r2, r3);
    printf("offset after readv: %ld\n", off(fd));
    printf("lseek past end: %ld\n", (long)lseek(fd, 100, SEEK_SET));
    printf("read at EOF: %zd\n", read(fd, buf, sizeof buf));
    CHECK(close(fd) == 0);

    /* O_APPEND: writes go to the end regardless of the offset. */
    fd = open(NAME, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    show_fl("O_APPEND fd", fd);
    lseek(fd, 0, SEEK_SET);
    printf("append write: %zd\n", write(fd, "!", 1));
    printf("offset after append write: %ld\n", off(fd));

    /* F_SETFL: clear O_APPEND, then a write at offset 0 overwrites. */
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_APPEND) == 0);
    show_fl("after F_SETFL", fd);
    lseek(fd, 0, SEEK_SET);
    printf("write at 0: %zd\n", write(fd, "#", 1));

    /* Descriptor flags. */
    printf("F_GETFD: %d\n", fcntl(fd, F_GETFD));
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
    printf("F_GETFD after F_SETFD: %d\n", fcntl(fd, F_GETFD));

    /* dup: new descriptor, shared offset, close-on-exec cleared. */
    int d = dup(fd);
    CHECK(d >= 0);
    printf("dup gives a new fd: %s\n", d != fd ? "yes" : "no");
    printf("dup F_GETFD: %d\n", fcntl(d, F_GETFD));
    lseek(d, 5, SEEK_SET);
    printf("offset shared with dup: %ld\n", off(fd));

    /* dup2 (dup3 on aarch64 inside libc). */
    printf("dup2(fd, 10): %d\n", dup2(fd, 10));
    printf("dup2 F_GETFD: %d\n", fcntl(10, F_GETFD));
    printf("dup2(fd, fd) is fd: %s\n", dup2(fd, fd) == fd ? "yes" : "no");

    /* F_DUPFD_CLOEXEC / F_DUPFD: lowest free fd >= the argument. */
    printf("F_DUPFD_CLOEXEC 20: %d\n", fcntl(fd, F_DUPFD_CLOEXEC, 20));
    printf("F_GETFD on 20: %d\n", fcntl(20, F_GETFD));
    printf("F_DUPFD 20: %d\n", fcntl(fd, F_DUPFD, 20));
    printf("F_GETFD on 21: %d\n", fcntl(21, F_GETFD));
    printf("write via fd 21: %zd\n", write(21, "*", 1));
    CHECK(close(21) == 0 && close(20) == 0 && close(10) == 0);
    CHECK(close(d) == 0 && close(fd) == 0);
    show_file(NAME);

    /* fstat size, rename, unlink. */
    struct stat st;
    fd = open(NAME, O_RDONLY);
    CHECK(fd >= 0 && fstat(fd, &st) == 0);
    printf("fstat size: %ld\n", (long)st.st_size);
    close(fd);
    CHECK(rename(NAME, NAME2) == 0);
    printf("old name gone: %s\n", access(NAME, F_OK) != 0 && errno == ENOENT ? "yes" : "no");
    printf("new name exists: %s\n", access(NAME2, F_OK) == 0 ? "yes" : "no");
    CHECK(unlink(NAME2) == 0);
    printf("unlinked: %s\n", access(NAME2, F_OK) != 0 ? "yes" : "no");
    printf("ok\n");
    return 0;
}
