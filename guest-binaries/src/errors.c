/* errors: error paths of common syscalls, printed as errno NAMES so the
 * output does not depend on numeric values. One "name: ERRNO" per line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef TCGETS
#define TCGETS 0x5401 /* same value on x86-64 and aarch64 */
#endif

#define F "errors.file"
#define D "errors.dir"
#define L "errors.loop"

static const struct { int num; const char *name; } names[] = {
    { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EBADF, "EBADF" },
    { EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EEXIST, "EEXIST" },
    { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
    { ENOTTY, "ENOTTY" }, { ESPIPE, "ESPIPE" }, { ERANGE, "ERANGE" },
    { ENAMETOOLONG, "ENAMETOOLONG" }, { ENOSYS, "ENOSYS" },
    { ENOTEMPTY, "ENOTEMPTY" }, { ELOOP, "ELOOP" }, { ENOMEM, "ENOMEM" },
    { EXDEV, "EXDEV" }, { EMFILE, "EMFILE" },
};

static const char *ename(int e)
{
    static char other[32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].num == e)
            return names[i].name;
    snprintf(other, sizeof other, "errno %d", e);
    return other;
}

/* Print the errno name if the call failed (returned -1), else "no error". */
static void report(const char *what, long ret)
{
    if (ret == -1)
        printf("%s: %s\n", what, ename(errno));
    else
        printf("%s: no error (returned %ld)\n", what, ret);
}
#define T(what, call) do { errno = 0; report(what, (long)(call)); } while (0)

/* Helpers for cases that need a temporary descriptor; errno is kept. */
static long read_from(const char *path, int flags)
{
    char b[8];
    int fd = open(path, flags);
    long r = read(fd, b, sizeof b);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static long lseek_pipe(void)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    long r = lseek(p[0], 0, SEEK_SET);
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    return r;
}

int main(void)
{
    void *volatile bad_ptr = (void *)1; /* volatile: no compile-time warning */
    char buf[64];
    unlink(F); unlink(D "/x"); rmdir(D); unlink(L);

    int fd = open(F, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror("open"); return 1; }
    if (write(fd, "some data\n", 10) != 10) { perror("write"); return 1; }
    lseek(fd, 0, SEEK_SET);
    mkdir(D, 0755);
    close(open(D "/x", O_CREAT | O_WRONLY, 0644));

    T("open missing file", open("errors.missing", O_RDONLY));
    T("open missing dir component", open("errors.missing/x", O_RDONLY));
    T("open file as dir component", open("errors.file/x", O_RDONLY));
    T("open O_DIRECTORY on regular file", open(F, O_RDONLY | O_DIRECTORY));
    T("open dir for writing", open(D, O_WRONLY));
    T("open O_CREAT|O_EXCL existing", open(F, O_CREAT | O_EXCL | O_WRONLY, 0644));
    {
        char longname[300];
        memset(longname, 'n', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        T("open 299-char name", open(longname, O_RDONLY));
    }
    symlink(L, L); /* a symlink pointing to itself */
    T("open self-referencing symlink", open(L, O_RDONLY));
    T("close(-1)", close(-1));
    T("close(9999)", close(9999));
    T("read bad pointer", read(fd, bad_ptr, 10));
    T("write bad pointer", write(fd, bad_ptr, 10));
    T("read on directory fd", read_from(D, O_RDONLY));
    T("read on O_WRONLY fd", read_from(F, O_WRONLY));
    T("openat bad path pointer", syscall(SYS_openat, AT_FDCWD, bad_ptr, O_RDONLY));
    T("mkdir existing dir", mkdir(D, 0755));
    T("rmdir non-empty dir", rmdir(D));
    T("rmdir regular file", rmdir(F));
    T("unlink directory", unlink(D));
    T("unlink missing", unlink("errors.missing"));
    T("ioctl TCGETS on regular file", ioctl(fd, TCGETS, buf));
    T("unknown syscall 1000", syscall(1000));
    T("lseek bad fd", lseek(9999, 0, SEEK_SET));
    T("lseek bad whence", lseek(fd, 0, 12345));
    T("lseek negative offset", lseek(fd, -100, SEEK_SET));
    T("lseek on pipe", lseek_pipe());
    T("getcwd size 1", getcwd(buf, 1) ? 0 : -1);
    T("chdir to regular file", chdir(F));
    T("fcntl bad cmd", fcntl(fd, 99999));
    T("dup2 to negative fd", dup2(fd, -1));
    T("readlink on regular file", readlink(F, buf, sizeof buf));

    close(fd);
    unlink(L); unlink(D "/x"); rmdir(D); unlink(F);
    printf("ok\n");
    return 0;
}
