/* gatebypass: a thread parked in a blocking syscall while a second thread
 * maps new code over the page it is parked on (RWX code, as a JIT makes).
 *
 * On Linux a sleeping call never leaves the kernel: once woken it completes
 * and returns after its syscall instruction, so the new code at the
 * instruction itself is not what the woken call runs. A sandbox that makes
 * a woken call again by running its instruction again would run the new
 * code instead, and must not let that code's mkdir past a policy that
 * denies mkdir (test/escape-policy.test.ts runs it under such policies).
 *
 *   gatebypass read     parked in read() on an empty pipe
 *   gatebypass futex    parked in FUTEX_WAIT
 *   gatebypass poll     parked in ppoll() on an empty pipe
 *   gatebypass wait     parked in wait4() for a child
 *   gatebypass vfork    parked in clone(CLONE_VM|CLONE_VFORK) until its
 *                       child (on a stack of its own) exits
 *   gatebypass restart  parked in read(), then a signal whose handler has
 *                       SA_RESTART: Linux restarts the call by running its
 *                       instruction again, which is the new code's mkdir now
 *
 * Each mode prints what the parked call returned, then calls the new
 * code's mkdir directly ("mkdir in the new code: ok" or the errno's name),
 * says whether the directory ./gate-made-dir exists, and removes it.
 * The second thread waits for the first to sleep by reading its state in
 * /proc/self/task/TID/stat (S, or D for a vfork parent), never by timing.
 * Anything else prints usage and exits 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_NAME "gate-made-dir"
/* linux/futex.h (musl-gcc has no kernel headers). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

/* The code copied into the RWX page. call6(nr, a, b, c, d, e) makes a
 * syscall; clone6 is the same for clone, whose child (on the stack it was
 * given) returns into the function whose address is at the top of that
 * stack; mkdir_code makes ./gate-made-dir (mode 0700). Everything is
 * position-independent: it runs from the copy, never from here. */
extern const unsigned char gate_code[], call6_sc[], clone6[], clone6_sc[], mkdir_code[], gate_code_end[];
#if defined(__x86_64__)
__asm__(".pushsection .rodata\n"
        ".globl gate_code, call6_sc, clone6, clone6_sc, mkdir_code, gate_code_end\n"
        "gate_code:\n"
        "  mov %rdi, %rax\n  mov %rsi, %rdi\n  mov %rdx, %rsi\n  mov %rcx, %rdx\n  mov %r8, %r10\n  mov %r9, %r8\n"
        "call6_sc:\n  syscall\n  ret\n"
        "clone6:\n"
        "  mov %rdi, %rax\n  mov %rsi, %rdi\n  mov %rdx, %rsi\n  mov %rcx, %rdx\n  mov %r8, %r10\n  mov %r9, %r8\n"
        "clone6_sc:\n  syscall\n  ret\n" /* the child pops its function from its stack */
        "mkdir_code:\n"
        "  mov $83, %eax\n  lea dir_name(%rip), %rdi\n  mov $0700, %esi\n  syscall\n  ret\n"
        "dir_name: .asciz \"" DIR_NAME "\"\n"
        "gate_code_end:\n"
        ".popsection\n");
#elif defined(__aarch64__)
__asm__(".pushsection .rodata\n"
        ".globl gate_code, call6_sc, clone6, clone6_sc, mkdir_code, gate_code_end\n"
        ".balign 4\n"
        "gate_code:\n"
        "  mov x8, x0\n  mov x0, x1\n  mov x1, x2\n  mov x2, x3\n  mov x3, x4\n  mov x4, x5\n"
        "call6_sc:\n  svc #0\n  ret\n"
        "clone6:\n"
        "  mov x8, x0\n  mov x0, x1\n  mov x1, x2\n  mov x2, x3\n  mov x3, x4\n  mov x4, x5\n"
        "clone6_sc:\n  svc #0\n  cbnz x0, 1f\n  ldr x30, [sp]\n" /* the child: its function is at the top of its stack */
        "1:\n  ret\n"
        "mkdir_code:\n" /* mkdirat(AT_FDCWD, DIR_NAME, 0700): arm64 has no mkdir */
        "  mov x8, #34\n  mov x0, #-100\n  adr x1, dir_name\n  mov x2, #0700\n  svc #0\n  ret\n"
        "dir_name: .asciz \"" DIR_NAME "\"\n"
        ".balign 4\n"
        "gate_code_end:\n"
        ".popsection\n");
#else
#error "x86_64 or aarch64 only"
#endif

#define OFF(label) ((size_t)((label) - gate_code))

typedef long (*call6_fn)(long nr, long a, long b, long c, long d, long e);
typedef long (*mkdir_fn)(void);

static unsigned char *page;      /* the code the first thread runs */
static unsigned char *fresh;     /* the new code, mapped over it by the second thread */
static size_t parked_at;         /* offset of the syscall instruction the first thread sleeps in */
static const char *mode;
static volatile pid_t parked_tid;
static int pipefd[2];
static int futex_word;

static const char *errno_name(long e)
{
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static void die(const char *what)
{
    printf("%s failed: %s\n", what, strerror(errno));
    exit(1);
}

static void sync_code(unsigned char *p)
{
    __builtin___clear_cache((char *)p, (char *)p + 4096);
}

/* A jump from the syscall instruction at `at` to mkdir_code, of the same
 * length, so the instruction after the syscall is where it was. */
static void put_jump(unsigned char *p, size_t at)
{
#if defined(__x86_64__)
    p[at] = 0xeb; /* jmp rel8 */
    p[at + 1] = (unsigned char)(OFF(mkdir_code) - (at + 2));
#else
    uint32_t b = 0x14000000u | (uint32_t)(((OFF(mkdir_code) - at) / 4) & 0x3ffffff);
    memcpy(p + at, &b, 4);
#endif
}

/* The state letter of thread `tid` (proc(5), /proc/pid/stat field 3). */
static char thread_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open /proc/self/task/TID/stat");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) die("read /proc/self/task/TID/stat");
    buf[n] = 0;
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

static void *replacer(void *arg)
{
    (void)arg;
    while (!parked_tid)
        sched_yield();
    /* Asleep in its call: S, or D for a vfork parent (wait_for_vfork_done is killable, not interruptible). */
    int vfork_mode = strcmp(mode, "vfork") == 0;
    for (;;) {
        char s = thread_state(parked_tid);
        if (s == 'S' || (vfork_mode && s == 'D'))
            break;
        sched_yield();
    }
    /* The new code takes the old page's place (mremap(2), MREMAP_FIXED). */
    if (mremap(fresh, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, page) != page)
        die("mremap");
    if (strcmp(mode, "futex") == 0) {
        __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    } else if (strcmp(mode, "restart") == 0) {
        syscall(SYS_tgkill, getpid(), parked_tid, SIGUSR1);
    } else if (write(pipefd[1], "x", 1) != 1) {
        die("write");
    }
    return NULL;
}

static void on_usr1(int sig) { (void)sig; }

static char child_stack[65536] __attribute__((aligned(16)));

/* The vfork child: waits for the second thread's byte, then exits. It shares
 * the parent's memory and TLS, so it makes raw calls only. */
static void vfork_child(void)
{
    char c;
    syscall(SYS_read, pipefd[0], &c, 1);
    syscall(SYS_exit, 0);
    for (;;)
        ;
}

static long park(void)
{
    call6_fn call6 = (call6_fn)(void *)page;
    call6_fn clone6_call = (call6_fn)(void *)(page + OFF(clone6));
    char c = 0;
    if (strcmp(mode, "read") == 0 || strcmp(mode, "restart") == 0)
        return call6(SYS_read, pipefd[0], (long)&c, 1, 0, 0);
    if (strcmp(mode, "futex") == 0)
        return call6(SYS_futex, (long)&futex_word, FUTEX_WAIT_PRIVATE, 0, 0, 0);
    if (strcmp(mode, "poll") == 0) {
        struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
        return call6(SYS_ppoll, (long)&pfd, 1, 0, 0, 8);
    }
    if (strcmp(mode, "wait") == 0) {
        pid_t child = fork();
        if (child < 0) die("fork");
        if (child == 0) {
            char b;
            _exit(read(pipefd[0], &b, 1) == 1 ? 7 : 1);
        }
        int status = 0;
        long r = call6(SYS_wait4, child, (long)&status, 0, 0, 0);
        return r == child && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    /* vfork: the child's stack holds the function it returns into. */
    uintptr_t *top = (uintptr_t *)(child_stack + sizeof child_stack) - 2;
    top[0] = (uintptr_t)vfork_child;
    long r = clone6_call(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, (long)top, 0, 0, 0);
    int status = -1;
    if (r > 0 && waitpid((pid_t)r, &status, 0) != r) die("waitpid");
    return r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) + 100 : -1;
}

static const char *outcome(long r)
{
    if (strcmp(mode, "restart") == 0)
        return r == 0 ? "0: the restarted call ran the new code's mkdir" : r < 0 ? errno_name(-r) : "other";
    if (strcmp(mode, "read") == 0 || strcmp(mode, "poll") == 0)
        return r == 1 ? "1: the data" : "other";
    if (strcmp(mode, "futex") == 0)
        return r == 0 ? "0: woken" : "other";
    if (strcmp(mode, "wait") == 0)
        return r == 7 ? "the child's exit status 7" : "other";
    return r == 100 ? "the child's pid, after it exited 0" : "other";
}

int main(int argc, char **argv)
{
    static const char *modes[] = { "read", "futex", "poll", "wait", "vfork", "restart" };
    mode = argc == 2 ? argv[1] : "";
    int known = 0;
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        known |= strcmp(mode, modes[i]) == 0;
    if (!known) {
        fprintf(stderr, "usage: gatebypass read|futex|poll|wait|vfork|restart\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    if (pipe(pipefd) != 0) die("pipe");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) die("sigaction");

    const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
    page = mmap(NULL, 4096, rwx, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fresh = mmap(NULL, 4096, rwx, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || fresh == MAP_FAILED) die("mmap");
    memcpy(page, gate_code, OFF(gate_code_end));
    memcpy(fresh, gate_code, OFF(gate_code_end));
    parked_at = OFF(strcmp(mode, "vfork") == 0 ? clone6_sc : call6_sc);
    put_jump(fresh, parked_at);
    sync_code(page);
    sync_code(fresh);

    pthread_t t;
    if (pthread_create(&t, NULL, replacer, NULL) != 0) die("pthread_create");
    printf("%s: parked while the code under it is replaced\n", mode);
    parked_tid = (pid_t)syscall(SYS_gettid);
    long r = park();
    pthread_join(t, NULL);
    printf("%s: the parked call returned %s\n", mode, outcome(r));

    long made = ((mkdir_fn)(void *)(page + OFF(mkdir_code)))();
    printf("mkdir in the new code: %s\n", errno_name(-made));
    struct stat st;
    printf("the directory was made: %s\n", stat(DIR_NAME, &st) == 0 ? "yes" : "no");
    rmdir(DIR_NAME);
    return 0;
}
