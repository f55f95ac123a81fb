/* getuid_loop (benchmark): N raw getuid syscalls (default 1000000).
 * syscall(SYS_getuid) bypasses any caching in libc. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    long first = syscall(SYS_getuid), same = 0;
    for (long i = 0; i < n; i++)
        same += syscall(SYS_getuid) == first;
    printf("getuid calls: %ld\n", n);
    printf("all equal: %s\n", same == n ? "yes" : "no");
    return 0;
}
