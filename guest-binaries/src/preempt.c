/* preempt: code that runs for a long time without a syscall, for the
 * kernel's pre-emption (a timer stops the CPU between two blocks).
 *
 *   preempt checksum [ROUNDS]  a checksum over 1 MB of memory, with calls and
 *                              read-modify-write stores, never calling the kernel,
 *                              while a second thread writes 2000 numbers into a
 *                              pipe; prints the checksum and whether the pipe
 *                              held them all, in order
 *   preempt fair               one thread spins with no syscalls until the main
 *                              thread, which sleeps and prints 5 ticks, tells it
 *                              to stop (hangs unless the spinner is pre-empted)
 *   preempt spin [handle]      prints "ready", then spins with no syscalls
 *                              forever; with "handle", SIGINT, SIGHUP and SIGQUIT
 *                              are caught: each prints "handled N" and the spin
 *                              goes on (SIGTERM still kills it)
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORDS (1 << 17) /* 1 MB of uint64_t */
#define PIPE_NUMBERS 2000

static uint64_t data[WORDS];

/* Not inlined: every round makes calls and returns, so blocks chain through them. */
__attribute__((noinline)) static uint64_t mix(uint64_t sum, uint64_t word)
{
    sum = (sum ^ word) * 0x9e3779b97f4a7c15ull;
    return (sum << 13) | (sum >> 51);
}

__attribute__((noinline)) static uint64_t round_over(uint64_t sum, unsigned round)
{
    for (unsigned i = 0; i < WORDS; i++) {
        sum = mix(sum, data[i]);
        data[i] += sum >> (round & 31); /* a read-modify-write store */
        if ((sum & 7) == 0)
            data[(i * 31) % WORDS] ^= sum;
    }
    return sum;
}

static int pipe_fds[2];

static void *pipe_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PIPE_NUMBERS; i++) {
        if (write(pipe_fds[1], &i, sizeof i) != sizeof i)
            abort();
        (void)getppid();
    }
    return NULL;
}

static int checksum(unsigned rounds)
{
    for (unsigned i = 0; i < WORDS; i++)
        data[i] = i * 0x100000001b3ull;
    /* The pipe holds all 8000 bytes, so the writer never waits for the reader. */
    if (pipe(pipe_fds) != 0)
        return 1;
    pthread_t writer;
    if (pthread_create(&writer, NULL, pipe_writer, NULL) != 0)
        return 1;
    uint64_t sum = 0;
    for (unsigned r = 0; r < rounds; r++)
        sum = round_over(sum, r);
    pthread_join(writer, NULL);
    int in_order = 1;
    for (int i = 0; i < PIPE_NUMBERS; i++) {
        int v;
        if (read(pipe_fds[0], &v, sizeof v) != sizeof v || v != i)
            in_order = 0;
    }
    printf("checksum %016llx after %u rounds\n", (unsigned long long)sum, rounds);
    printf("pipe: %d numbers %s\n", PIPE_NUMBERS, in_order ? "in order" : "LOST OR REORDERED");
    return 0;
}

static volatile int stop_spinning;
static volatile uint64_t spins;

static void *spinner(void *arg)
{
    (void)arg;
    while (!stop_spinning)
        spins++;
    return NULL;
}

static int fair(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, spinner, NULL) != 0)
        return 1;
    struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
    for (int i = 1; i <= 5; i++) {
        nanosleep(&ten_ms, NULL);
        printf("tick %d\n", i);
        fflush(stdout);
    }
    stop_spinning = 1;
    pthread_join(t, NULL);
    printf("spinner stopped\n");
    return 0;
}

static volatile sig_atomic_t last_signal;

static void on_signal(int sig)
{
    last_signal = sig;
}

_Noreturn static void spin(int handle)
{
    if (handle) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sigaction(SIGQUIT, &sa, NULL);
    }
    printf("ready\n");
    fflush(stdout);
    uint64_t x = 1;
    for (;;) {
        /* No syscall in the loop: only a handler's return breaks the spin. */
        while (!last_signal)
            x = x * 6364136223846793005ull + 1;
        printf("handled %d\n", (int)last_signal);
        fflush(stdout);
        last_signal = 0;
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "checksum") == 0)
        return checksum(argc > 2 ? (unsigned)atoi(argv[2]) : 16);
    if (strcmp(mode, "fair") == 0)
        return fair();
    if (strcmp(mode, "spin") == 0)
        spin(argc > 2 && strcmp(argv[2], "handle") == 0);
    fprintf(stderr, "usage: preempt checksum [ROUNDS] | fair | spin [handle]\n");
    return 2;
}
