/* forkexec: fork, execve and wait.
 *   forkexec [N]   all checks; the exec loop runs N children (default 20)
 * and the modes it execs itself in:
 *   forkexec child K            exit(K)
 *   forkexec ids PID PPID       exit 0 if getpid() == PID and getppid() == PPID
 *   forkexec fds FD1 FD2        exit 0 if FD1 is closed and FD2 is open
 *   forkexec echo ARGS...       print argv and the sorted environ, exit 0
 *   forkexec script-arg ...     (via a "#!<self> script-arg" script) print argv
 * Checks: getppid() in a forked child, exit statuses of N exec'd children,
 * exit(300), exec keeps pid and ppid, argv and envp passing, O_CLOEXEC,
 * death by SIGKILL and by a raised SIGTERM, stop/continue reporting,
 * waitpid WNOHANG, waitpid(-1), ECHILD, execve errors (ENOENT, EACCES,
 * ENOEXEC) and "#!" scripts. Paths are printed as basenames only.
 * Creates and deletes forkexec.noexec, forkexec.noshebang, forkexec.script. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

extern char **environ;
static char self[PATH_MAX]; /* absolute path of this executable */

static const char *base(const char *path)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    return basename(buf);
}

static const char *errname(int e)
{
    static char buf[32];
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOEXEC: return "ENOEXEC";
    case ECHILD: return "ECHILD";
    case EPERM: return "EPERM";
    }
    snprintf(buf, sizeof buf, "errno %d", e);
    return buf;
}

static const char *describe(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by signal %d%s", WTERMSIG(st),
                 WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped by signal %d", WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        snprintf(buf, sizeof buf, "continued");
    else
        snprintf(buf, sizeof buf, "status %#x", st);
    return buf;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static pid_t xfork(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    return pid;
}

/* Fork, exec self with the given arguments (argv[0] = self), wait. */
static int spawn_self(char *const *args, char *const *envp)
{
    char *argv[16];
    int n = 0;
    argv[n++] = self;
    while (*args && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    pid_t pid = xfork();
    if (pid == 0) {
        execve(self, argv, envp);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(close(fd) == 0);
    CHECK(chmod(name, mode) == 0); /* regardless of the umask */
}

static void test_fork(void)
{
    pid_t parent = getpid();
    pid_t pid = xfork();
    if (pid == 0)
        _exit(getppid() == parent && getpid() != parent ? 0 : 1);
    int st;
    pid_t w = waitpid(pid, &st, 0);
    printf("fork: waitpid returns the child's pid: %s\n", w == pid ? "yes" : "no");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        printf("ppid ok\n");
    else
        printf("ppid WRONG (%s)\n", describe(st));
}

static void test_loop(int n)
{
    int good = 0;
    for (int i = 0; i < n; i++) {
        char code[16];
        snprintf(code, sizeof code, "%d", i % 256);
        char *args[] = { "child", code, NULL };
        int st = spawn_self(args, environ);
        if (WIFEXITED(st) && WEXITSTATUS(st) == i % 256)
            good++;
        else
            printf("exec loop: child %d: %s\n", i, describe(st));
    }
    printf("exec loop: %d of %d children exited with their code (i %% 256)\n", good, n);
    char *args[] = { "child", "300", NULL };
    printf("exit(300): %s\n", describe(spawn_self(args, environ)));
}

static void test_exec_details(void)
{
    char pid[32], ppid[32];
    snprintf(ppid, sizeof ppid, "%d", (int)getpid());
    pid_t c = xfork();
    if (c == 0) {
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        char *argv[] = { self, "ids", pid, ppid, NULL };
        execve(self, argv, environ);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("exec keeps pid and ppid: %s\n",
           WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : describe(st));

    char *args[] = { "echo", "a", "", "b c", NULL };
    char *envp[] = { "ZED=last", "A=1", "EMPTY=", "SPACE=two words", NULL };
    printf("argv and envp: %s\n", describe(spawn_self(args, envp)));
    char *noenv[] = { NULL };
    char *args2[] = { "echo", NULL };
    printf("empty envp: %s\n", describe(spawn_self(args2, noenv)));

    int fds[2];
    CHECK(pipe2(fds, 0) == 0);
    CHECK(fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0);
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", fds[0]);
    snprintf(b, sizeof b, "%d", fds[1]);
    char *args3[] = { "fds", a, b, NULL };
    st = spawn_self(args3, environ);
    printf("after exec: FD_CLOEXEC fd closed, plain fd open: %s\n",
           WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : describe(st));
    close(fds[0]);
    close(fds[1]);
}

static void test_signals_and_wait(void)
{
    int st;
    pid_t pid = xfork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("SIGKILL: %s, WIFSIGNALED %d, WTERMSIG == SIGKILL: %s\n", describe(st),
           WIFSIGNALED(st) ? 1 : 0, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "yes" : "no");

    pid = xfork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(99);
    }
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("raise(SIGTERM): %s, WTERMSIG == SIGTERM: %s\n", describe(st),
           WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "yes" : "no");

    /* stop and continue, reported with WUNTRACED / WCONTINUED */
    pid = xfork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK(kill(pid, SIGSTOP) == 0);
    CHECK(waitpid(pid, &st, WUNTRACED) == pid);
    printf("SIGSTOP: %s, WSTOPSIG == SIGSTOP: %s\n", describe(st),
           WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP ? "yes" : "no");
    CHECK(kill(pid, SIGCONT) == 0);
    CHECK(waitpid(pid, &st, WCONTINUED) == pid);
    printf("SIGCONT: %s\n", describe(st));
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("then SIGKILL: %s\n", describe(st));

    /* WNOHANG before the child exits */
    int p[2];
    CHECK(pipe(p) == 0);
    pid = xfork();
    if (pid == 0) {
        char c;
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? 3 : 4);
    }
    close(p[0]);
    pid_t r = waitpid(pid, &st, WNOHANG);
    printf("waitpid WNOHANG while running: returns %d\n", (int)r);
    CHECK(write(p[1], "x", 1) == 1);
    close(p[1]);
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("then waitpid: %s\n", describe(st));

    /* wait for any child */
    pid_t kids[3];
    int codes[3] = { 11, 22, 33 }, seen[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++) {
        kids[i] = xfork();
        if (kids[i] == 0)
            _exit(codes[i]);
    }
    int reaped = 0, matched = 0;
    while ((r = waitpid(-1, &st, 0)) > 0) {
        reaped++;
        for (int i = 0; i < 3; i++)
            if (r == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == codes[i]) {
                seen[i]++;
                matched++;
            }
    }
    int e = errno;
    printf("waitpid(-1): reaped %d, pid and code matched %d (%d %d %d), then %s\n",
           reaped, matched, seen[0], seen[1], seen[2], r == -1 ? errname(e) : "WRONG");
    errno = 0;
    r = wait(&st);
    printf("wait() without children: %s\n", r == -1 ? errname(errno) : "WRONG");
}

static void try_exec(const char *what, const char *path)
{
    char *argv[] = { (char *)path, NULL };
    errno = 0;
    int r = execve(path, argv, environ);
    printf("execve %s: %s\n", what, r == -1 ? errname(errno) : "WRONG");
}

static void test_exec_errors(void)
{
    try_exec("missing path", "./forkexec.missing");
    write_file("forkexec.noexec", "#!/bin/sh\nexit 0\n", 0644);
    try_exec("mode 0644 file", "./forkexec.noexec");
    write_file("forkexec.noshebang", "exit 0\n", 0755);
    try_exec("mode 0755 file without #!", "./forkexec.noshebang");
    try_exec("directory", ".");
    unlink("forkexec.noexec");
    unlink("forkexec.noshebang");

    /* "#!<self> script-arg": runs self with [self, script-arg, script, args] */
    char text[PATH_MAX + 64];
    snprintf(text, sizeof text, "#!%s script-arg\n", self);
    write_file("forkexec.script", text, 0755);
    pid_t pid = xfork();
    if (pid == 0) {
        char *argv[] = { "ignored-argv0", "extra1", "extra 2", NULL };
        execve("./forkexec.script", argv, environ);
        printf("execve script: %s\n", errname(errno));
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("#! script: %s\n", describe(st));
    unlink("forkexec.script");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "child") == 0 && argc > 2)
        exit(atoi(argv[2]));
    if (strcmp(mode, "ids") == 0 && argc > 3)
        exit(getpid() == atoi(argv[2]) && getppid() == atoi(argv[3]) ? 0 : 1);
    if (strcmp(mode, "fds") == 0 && argc > 3) {
        int closed = fcntl(atoi(argv[2]), F_GETFD) == -1 && errno == EBADF;
        int open = fcntl(atoi(argv[3]), F_GETFD) == 0;
        exit(closed && open ? 0 : 1);
    }
    if (strcmp(mode, "echo") == 0) {
        printf("  argc %d:", argc);
        for (int i = 0; i < argc; i++)
            printf(" [%s]", i == 0 ? base(argv[i]) : argv[i]);
        /* sorted: qemu-user passes the environment in reverse order */
        int ne = 0;
        while (environ[ne])
            ne++;
        qsort(environ, ne, sizeof *environ, cmpstr);
        printf("\n  environ (sorted):");
        for (char **e = environ; *e; e++)
            printf(" [%s]", *e);
        printf("\n");
        exit(0);
    }
    if (strcmp(mode, "script-arg") == 0) {
        printf("  script argv (basenames):");
        for (int i = 0; i < argc; i++)
            printf(" [%s]", base(argv[i]));
        printf("\n");
        exit(0);
    }

    /* the parent: find our own absolute path */
    if (strchr(argv[0], '/')) {
        CHECK(realpath(argv[0], self) != NULL);
    } else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        CHECK(n > 0);
        self[n] = 0;
    }
    int n = 20;
    if (argc > 1) {
        n = atoi(argv[1]);
        if (n < 0 || (n == 0 && strcmp(argv[1], "0") != 0)) {
            fprintf(stderr, "usage: forkexec [N]\n");
            return 2;
        }
    }
    printf("self: %s\n", base(self));
    test_fork();
    test_loop(n);
    test_exec_details();
    test_signals_and_wait();
    test_exec_errors();
    printf("ok\n");
    return 0;
}
