/* crash: terminate in a chosen way.
 *   crash segv     write to address 0x10           -> SIGSEGV
 *   crash ill      illegal instruction (ud2 / udf) -> SIGILL
 *   crash abort    abort()                         -> SIGABRT
 *   crash exit N   exit(N)
 *   crash badframe rt_sigreturn over a frame of 0xff bytes: Linux finds it
 *                  bad and forces SIGSEGV (x86-64 signal_fault, arm64
 *                  arm64_notify_segfault); should the call return, exit 1
 *   crash kernel   call 0xffffffffff600000 (x86-64's vsyscall page, a kernel
 *                  address on arm64)           -> SIGSEGV at that address
 *                  (not in check.sh: a Linux host may emulate the vsyscall page)
 * Without arguments, prints usage and exits 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "segv") == 0) {
        printf("crash: segv\n");
        fflush(stdout);
        volatile int *bad = (volatile int *)0x10;
        __asm__("" : "+r"(bad)); /* hide the constant from the optimizer */
        *bad = 1;
    } else if (strcmp(what, "ill") == 0) {
        printf("crash: ill\n");
        fflush(stdout);
#if defined(__x86_64__)
        __asm__ volatile("ud2");
#elif defined(__aarch64__)
        __asm__ volatile("udf #0");
#else
        __builtin_trap();
#endif
    } else if (strcmp(what, "abort") == 0) {
        printf("crash: abort\n");
        fflush(stdout);
        abort();
    } else if (strcmp(what, "kernel") == 0) {
        printf("crash: kernel\n");
        fflush(stdout);
        void (*volatile vsyscall)(void) = (void (*)(void))0xffffffffff600000UL;
        vsyscall();
    } else if (strcmp(what, "badframe") == 0) {
        /* The frame sits in the middle of a buffer that is also the stack
         * the call returns on, if it ever does. */
        static unsigned char stack[65536] __attribute__((aligned(16)));
        unsigned char *frame = stack + sizeof stack / 2;
        memset(stack, 0xff, sizeof stack);
        printf("crash: badframe\n");
        fflush(stdout);
#if defined(__x86_64__)
        /* The kernel finds the frame at rsp - 8 (the restorer's ret popped pretcode). */
        __asm__ volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall\n\t"
                         "mov $231, %%eax\n\tmov $1, %%edi\n\tsyscall"
                         :: "r"(frame + 8) : "memory", "rax", "rdi", "rcx", "r11");
#elif defined(__aarch64__)
        __asm__ volatile("mov sp, %0\n\tmov x8, #139\n\tsvc #0\n\t"
                         "mov x0, #1\n\tmov x8, #94\n\tsvc #0"
                         :: "r"(frame) : "memory", "x0", "x8");
#endif
    } else if (strcmp(what, "exit") == 0 && argc > 2) {
        int n = atoi(argv[2]);
        printf("crash: exit %d\n", n);
        fflush(stdout);
        exit(n);
    }
    fprintf(stderr, "usage: crash segv|ill|abort|kernel|badframe|exit N\n");
    return 2;
}
