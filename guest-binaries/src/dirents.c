/* dirents: readdir (getdents64) over a directory of 5 files and 1 subdir.
 * Names are sorted because directory order depends on the filesystem. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define D "dirents.d"

#define CHECK(x) do { if (!(x)) { \
    printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); \
    exit(1); } } while (0)

struct ent { char name[256]; unsigned char type; };

static int cmp(const void *a, const void *b)
{
    return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

static const char *tname(unsigned char t)
{
    switch (t) {
    case DT_REG: return "DT_REG";
    case DT_DIR: return "DT_DIR";
    case DT_LNK: return "DT_LNK";
    case DT_UNKNOWN: return "DT_UNKNOWN";
    default: return "other";
    }
}

static void cleanup(void)
{
    char path[64];
    for (char c = 'a'; c <= 'e'; c++) {
        snprintf(path, sizeof path, D "/%c", c);
        unlink(path);
    }
    rmdir(D "/sub");
    rmdir(D);
}

int main(void)
{
    char path[64];
    struct ent ents[32];
    int n = 0, dots = 0;

    cleanup();
    CHECK(mkdir(D, 0755) == 0);
    for (char c = 'e'; c >= 'a'; c--) { /* create in reverse order */
        snprintf(path, sizeof path, D "/%c", c);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, &c, 1) == 1);
        close(fd);
    }
    CHECK(mkdir(D "/sub", 0755) == 0);

    DIR *dir = opendir(D);
    CHECK(dir != NULL);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            dots++;
            continue;
        }
        CHECK(n < 32);
        snprintf(ents[n].name, sizeof ents[n].name, "%s", de->d_name);
        ents[n].type = de->d_type;
        n++;
    }
    CHECK(errno == 0);
    closedir(dir);

    qsort(ents, n, sizeof ents[0], cmp);
    printf("entries: %d (plus %d dot entries)\n", n, dots);
    for (int i = 0; i < n; i++)
        printf("%s %s\n", ents[i].name, tname(ents[i].type));

    /* Second pass after rewinddir must see the same count. */
    dir = opendir(D);
    CHECK(dir != NULL);
    int first = 0, second = 0;
    while (readdir(dir)) first++;
    rewinddir(dir);
    while (readdir(dir)) second++;
    closedir(dir);
    printf("rewinddir count matches: %s (%d)\n", first == second ? "yes" : "no", second);

    cleanup();
    printf("cleaned up: %s\n", access(D, F_OK) != 0 ? "yes" : "no");
    printf("ok\n");
    return 0;
}
