/* args: argv, TSL_* environment variables and the auxiliary vector.
 * Only facts that do not vary between runs are printed (no addresses,
 * ids or hwcaps), so native and emulated runs can be compared byte by byte.
 * Exit code: argc-1 when argv[1] is "--exit-argc", else 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>

extern char **environ;

/* Compare "NAME=value" strings by NAME only. */
static int by_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    for (;; x++, y++) {
        int cx = (*x == '=') ? 0 : (unsigned char)*x;
        int cy = (*y == '=') ? 0 : (unsigned char)*y;
        if (cx != cy || cx == 0)
            return cx - cy;
    }
}

static const char *yesno(int b) { return b ? "yes" : "no"; }

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);

    /* Environment: only TSL_* variables, sorted by name. */
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **tsl = calloc(n + 1, sizeof *tsl);
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "TSL_", 4) == 0)
            tsl[k++] = *e;
    qsort(tsl, k, sizeof *tsl, by_name);
    printf("env TSL_* count=%zu\n", k);
    for (size_t i = 0; i < k; i++)
        printf("env %s\n", tsl[i]);
    free(tsl);

    /* Auxiliary vector: values that are fixed by the ABI, or sanity checks. */
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM nonzero: %s\n", yesno(getauxval(AT_PHNUM) != 0));
    printf("AT_PHDR nonzero: %s\n", yesno(getauxval(AT_PHDR) != 0));
    printf("AT_ENTRY nonzero: %s\n", yesno(getauxval(AT_ENTRY) != 0));
    printf("AT_RANDOM %s\n", getauxval(AT_RANDOM) ? "present" : "missing");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN matches argv[0]: %s\n",
           yesno(execfn && argc > 0 && strcmp(execfn, argv[0]) == 0));
    printf("AT_UID matches getuid(): %s\n", yesno(getauxval(AT_UID) == getuid()));
    printf("AT_EUID matches geteuid(): %s\n", yesno(getauxval(AT_EUID) == geteuid()));
    printf("AT_GID matches getgid(): %s\n", yesno(getauxval(AT_GID) == getgid()));
    printf("AT_EGID matches getegid(): %s\n", yesno(getauxval(AT_EGID) == getegid()));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    const char *plat = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM=%s\n", plat ? plat : "(missing)");

    if (argc > 1 && strcmp(argv[1], "--exit-argc") == 0)
        return argc - 1;
    return 0;
}
