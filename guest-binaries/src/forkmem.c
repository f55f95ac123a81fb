/* forkmem: a forked child's memory is its parent's as it was at the fork,
 * and from then on each side's writes are its own, MAP_SHARED memory
 * excepted. Both sides write after the fork, each before the other looks:
 * data, .bss, a malloc'd block, the stack, pages neither had touched before
 * the fork, a read-only anonymous mapping and a private file mapping that
 * one side makes writable with mprotect, MAP_SHARED anonymous memory (seen
 * by both); a grandchild sees the child's memory as at its own fork.
 * The child reports a failed check as "FAIL child line N". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define CHECK(x) do { if (!(x)) { \
    printf("FAIL %s line %d: %s\n", who, __LINE__, #x); \
    fflush(stdout); _exit(1); } } while (0)

static const char *who = "parent";
static char data[64] = "data";
static char bss[4 * PAGE];

static void put(int fd) { char c = 1; if (write(fd, &c, 1) != 1) _exit(2); }
static void get(int fd) { char c; if (read(fd, &c, 1) != 1) _exit(2); }

static int waitfor(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
    char stack[64] = "stack";
    char *heap = calloc(1, 1 << 20); /* mmap'd by malloc: mostly untouched */
    CHECK(heap != NULL);
    strcpy(heap, "heap");
    char *ro = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    strcpy(ro, "ro");
    strcpy(ro + PAGE, "ro2");
    CHECK(mprotect(ro, 2 * PAGE, PROT_READ) == 0);
    char *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    strcpy(shared, "shared");
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    char *file = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(file != MAP_FAILED && file[1] == 'E');

    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        who = "child";
        get(to_child[0]); /* the parent has written its side */
        CHECK(strcmp(data, "data") == 0);
        CHECK(strcmp(stack, "stack") == 0);
        CHECK(strcmp(heap, "heap") == 0);
        CHECK(heap[256 << 10] == 0 && heap[512 << 10] == 0);
        CHECK(bss[2 * PAGE] == 0 && bss[PAGE] == 0);
        CHECK(strcmp(ro, "ro") == 0 && strcmp(ro + PAGE, "ro2") == 0);
        CHECK(file[1] == 'E');
        CHECK(strcmp(shared, "parent-shared") == 0);
        strcpy(data, "child");
        strcpy(stack, "child");
        strcpy(heap, "child");
        heap[512 << 10] = 'c';
        bss[PAGE] = 'c';
        CHECK(mprotect(ro + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
        strcpy(ro + PAGE, "child");
        CHECK(mprotect(file, PAGE, PROT_READ | PROT_WRITE) == 0);
        file[1] = 'C';
        strcpy(shared, "child-shared");
        fflush(stdout);
        pid_t g = fork();
        CHECK(g >= 0);
        if (g == 0) {
            who = "grandchild";
            CHECK(strcmp(data, "child") == 0 && strcmp(stack, "child") == 0);
            CHECK(heap[512 << 10] == 'c' && bss[PAGE] == 'c');
            CHECK(strcmp(ro, "ro") == 0 && strcmp(ro + PAGE, "child") == 0);
            CHECK(file[1] == 'C');
            strcpy(data, "grandchild");
            ro[PAGE] = 'G';
            _exit(0);
        }
        CHECK(waitfor(g) == 0);
        CHECK(strcmp(data, "child") == 0 && strcmp(ro + PAGE, "child") == 0);
        put(to_parent[1]);
        _exit(0);
    }
    strcpy(data, "parent");
    strcpy(stack, "parent");
    strcpy(heap, "parent");
    heap[256 << 10] = 'p';
    bss[2 * PAGE] = 'p';
    CHECK(mprotect(ro, PAGE, PROT_READ | PROT_WRITE) == 0);
    strcpy(ro, "parent");
    strcpy(shared, "parent-shared");
    put(to_child[1]);
    get(to_parent[0]);
    CHECK(strcmp(data, "parent") == 0);
    CHECK(strcmp(stack, "parent") == 0);
    CHECK(strcmp(heap, "parent") == 0);
    CHECK(heap[256 << 10] == 'p' && heap[512 << 10] == 0);
    CHECK(bss[2 * PAGE] == 'p' && bss[PAGE] == 0);
    CHECK(strcmp(ro, "parent") == 0 && strcmp(ro + PAGE, "ro2") == 0);
    CHECK(file[1] == 'E');
    CHECK(strcmp(shared, "child-shared") == 0);
    CHECK(waitfor(pid) == 0);
    printf("each side's writes after fork are its own: data, bss, heap, stack, untouched pages, mprotect'ed read-only and file pages\n");
    printf("MAP_SHARED anonymous memory is seen by both\n");
    printf("a grandchild sees the child's memory as at its fork\n");
    return 0;
}
