/* Processes of one program, one after another: none sees what an earlier
 * one changed. tslinux hands a finished process's CPU engine, with the code
 * it translated from the program's untouched read-only segments, to the
 * next process of the same program (src/kernel/engine-shelf.ts); this guest
 * changes its own code and data and checks that the next process runs and
 * reads the program as the file has it.
 *
 *   selfmod            prints "value 1" (value() as built) and "bss clean"
 *                      when its .bss holds only zeros
 *   selfmod patch      rewrites value() in place to return 2 (its whole
 *                      PT_LOAD segment made RWX, then R-X again, so that the
 *                      mapping has its old place and protection), prints
 *                      "value 2", and dirties .bss
 *   selfmod family N   forks N children; the odd ones patch value() and
 *                      print "child I value 2", the even ones print
 *                      "child I value 1"; after each, the parent prints its
 *                      own value(), then execs itself without arguments
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned char scratch[1 << 16];

__attribute__((noinline)) int value(void) {
    __asm__ volatile("" ::: "memory");
    return 1;
}

/* The PT_LOAD segment holding value(), page-rounded. */
static int find_segment(struct dl_phdr_info *info, size_t size, void *data) {
    uintptr_t *range = data, at = (uintptr_t)&value;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (ph->p_type != PT_LOAD || at < start || at >= end) continue;
        range[0] = start & ~(uintptr_t)(page - 1);
        range[1] = (end + page - 1) & ~(uintptr_t)(page - 1);
        return 1;
    }
    return 0;
}

static void patch(void) {
    uintptr_t at = (uintptr_t)&value, seg[2] = {0, 0};
    if (!dl_iterate_phdr(find_segment, seg)) {
        fprintf(stderr, "no segment holds value()\n");
        exit(1);
    }
    if (mprotect((void *)seg[0], seg[1] - seg[0], PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        perror("mprotect");
        exit(1);
    }
#if defined(__x86_64__)
    static const unsigned char code[] = {0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3}; /* mov eax, 2; ret */
#elif defined(__aarch64__)
    static const uint32_t code[] = {0x52800040, 0xd65f03c0}; /* mov w0, #2; ret */
#endif
    memcpy((void *)at, code, sizeof code);
    __builtin___clear_cache((char *)at, (char *)at + sizeof code);
    if (mprotect((void *)seg[0], seg[1] - seg[0], PROT_READ | PROT_EXEC) != 0) {
        perror("mprotect");
        exit(1);
    }
    for (size_t i = 0; i < sizeof scratch; i++) scratch[i] = 0x5a;
}

static int bss_clean(void) {
    for (size_t i = 0; i < sizeof scratch; i++)
        if (scratch[i] != 0) return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "patch") == 0) {
        patch();
        printf("value %d\n", value());
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "family") == 0) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                return 1;
            }
            if (pid == 0) {
                if (i % 2 == 1) patch();
                printf("child %d value %d\n", i, value());
                fflush(stdout);
                _exit(0);
            }
            int status;
            waitpid(pid, &status, 0);
            printf("parent value %d\n", value());
        }
        fflush(stdout);
        execl("/proc/self/exe", argv[0], (char *)0);
        perror("execl");
        return 1;
    }
    printf("value %d\n", value());
    printf("bss %s\n", bss_clean() ? "clean" : "dirty");
    return 0;
}
