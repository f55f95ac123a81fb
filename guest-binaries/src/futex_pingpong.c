/* futex_pingpong (benchmark): two threads hand a turn back and forth N times
 * (argv[1], default 100000) through one futex word, with raw FUTEX_WAIT and
 * FUTEX_WAKE (private). Each round trip is two hand-offs, and every hand-off
 * that finds the other thread asleep costs a wait and a wake.
 * Prints only counts, so the output is deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* From <linux/futex.h>, which musl-gcc does not ship. */
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)

enum { PING = 0, PONG = 1 };

static _Atomic int turn = PING;
static long rounds;

static void futex_wait(_Atomic int *word, int expected)
{
    /* EAGAIN (the word already changed) and EINTR just mean "look again". */
    if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0) < 0 &&
        errno != EAGAIN && errno != EINTR) {
        perror("futex wait");
        exit(1);
    }
}

static void futex_wake(_Atomic int *word)
{
    if (syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) {
        perror("futex wake");
        exit(1);
    }
}

/* Wait for my turn, then give the turn to the other side. */
static void play(int me, int other, long *count)
{
    for (long i = 0; i < rounds; i++) {
        int t;
        while ((t = atomic_load(&turn)) != me)
            futex_wait(&turn, t);
        ++*count;
        atomic_store(&turn, other);
        futex_wake(&turn);
    }
}

static long pongs;

static void *ponger(void *arg)
{
    play(PONG, PING, &pongs);
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    pthread_t t;
    long pings = 0;
    if (pthread_create(&t, NULL, ponger, NULL) != 0) {
        puts("pthread_create failed");
        return 1;
    }
    play(PING, PONG, &pings);
    pthread_join(t, NULL);
    printf("round trips: %ld\n", rounds);
    printf("pings: %ld pongs: %ld final turn: %s\n", pings, pongs, atomic_load(&turn) == PING ? "ping" : "pong");
    return 0;
}
