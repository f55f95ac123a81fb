/* POSIX threads: mutex, condvar, rwlock, barrier, thread-local storage and
 * errno, join and detach, 64 threads on one counter, a producer and a
 * consumer, pthread_kill, cancellation. Prints only what is deterministic. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* errno names, not strerror: musl and glibc word the messages differently. */
static const char *errname(int e) {
    switch (e) {
    case 0: return "0";
    case EBUSY: return "EBUSY";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EDEADLK: return "EDEADLK";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

#define CHECK(call)                                                   \
    do {                                                              \
        int rc_ = (call);                                             \
        if (rc_ != 0) {                                               \
            printf("FAIL %s: %s\n", #call, errname(rc_));            \
            exit(1);                                                  \
        }                                                             \
    } while (0)

/* ---- 64 threads incrementing one counter under a mutex ---- */
#define NCOUNT 64
#define ROUNDS 1000
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_up(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
        if (i % 100 == 0) sched_yield();
    }
    return NULL;
}

static void test_counter(void) {
    pthread_t t[NCOUNT];
    for (int i = 0; i < NCOUNT; i++) CHECK(pthread_create(&t[i], NULL, count_up, NULL));
    for (int i = 0; i < NCOUNT; i++) CHECK(pthread_join(t[i], NULL));
    printf("counter: %ld (expected %d)\n", counter, NCOUNT * ROUNDS);
}

/* ---- producer and consumer over a condition variable ---- */
#define QCAP 4
#define ITEMS 200
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_not_full = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], q_head, q_len;

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&q_lock);
        while (q_len == QCAP) pthread_cond_wait(&q_not_full, &q_lock);
        queue[(q_head + q_len++) % QCAP] = i;
        pthread_cond_signal(&q_not_empty);
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long sum = 0;
    (void)arg;
    for (int n = 0; n < ITEMS; n++) {
        pthread_mutex_lock(&q_lock);
        while (q_len == 0) pthread_cond_wait(&q_not_empty, &q_lock);
        sum += queue[q_head];
        q_head = (q_head + 1) % QCAP;
        q_len--;
        pthread_cond_signal(&q_not_full);
        pthread_mutex_unlock(&q_lock);
    }
    return (void *)sum;
}

static void test_producer_consumer(void) {
    pthread_t p, c;
    void *sum;
    CHECK(pthread_create(&c, NULL, consumer, NULL));
    CHECK(pthread_create(&p, NULL, producer, NULL));
    CHECK(pthread_join(p, NULL));
    CHECK(pthread_join(c, &sum));
    printf("producer/consumer: sum %ld (expected %d)\n", (long)sum, ITEMS * (ITEMS + 1) / 2);
}

/* ---- rwlock: readers share, a writer excludes ---- */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int shared_value;

static void *reader(void *arg) {
    long seen = 0;
    (void)arg;
    for (int i = 0; i < 100; i++) {
        pthread_rwlock_rdlock(&rw);
        seen += shared_value % 2; /* the writer keeps the value even */
        pthread_rwlock_unlock(&rw);
    }
    return (void *)seen;
}

static void *writer(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        pthread_rwlock_wrlock(&rw);
        shared_value++;
        sched_yield(); /* readers would see the odd value if they could get in */
        shared_value++;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void test_rwlock(void) {
    pthread_t r[4], w;
    long odd = 0;
    CHECK(pthread_create(&w, NULL, writer, NULL));
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&r[i], NULL, reader, NULL));
    for (int i = 0; i < 4; i++) {
        void *v;
        CHECK(pthread_join(r[i], &v));
        odd += (long)v;
    }
    CHECK(pthread_join(w, NULL));
    printf("rwlock: value %d, odd values seen by readers %ld\n", shared_value, odd);
    CHECK(pthread_rwlock_rdlock(&rw));
    printf("rwlock: trywrlock while read-locked: %s\n", errname(pthread_rwlock_trywrlock(&rw)));
    CHECK(pthread_rwlock_unlock(&rw));
}

/* ---- barrier ---- */
#define NBAR 5
static pthread_barrier_t barrier;
static int arrived_before, arrived_after;
static pthread_mutex_t bar_lock = PTHREAD_MUTEX_INITIALIZER;

static void *at_barrier(void *arg) {
    (void)arg;
    pthread_mutex_lock(&bar_lock);
    arrived_before++;
    pthread_mutex_unlock(&bar_lock);
    int r = pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&bar_lock);
    /* Everyone is past the barrier only when all arrived. */
    if (arrived_before == NBAR) arrived_after++;
    pthread_mutex_unlock(&bar_lock);
    return (void *)(long)(r == PTHREAD_BARRIER_SERIAL_THREAD);
}

static void test_barrier(void) {
    pthread_t t[NBAR];
    long serial = 0;
    CHECK(pthread_barrier_init(&barrier, NULL, NBAR));
    for (int i = 0; i < NBAR; i++) CHECK(pthread_create(&t[i], NULL, at_barrier, NULL));
    for (int i = 0; i < NBAR; i++) {
        void *v;
        CHECK(pthread_join(t[i], &v));
        serial += (long)v;
    }
    printf("barrier: %d of %d saw everyone arrive, %ld serial thread\n", arrived_after, NBAR, serial);
    pthread_barrier_destroy(&barrier);
}

/* ---- thread-local storage and errno ---- */
static __thread int tls_value = 7;
static pthread_key_t key;

static void *tls_worker(void *arg) {
    long id = (long)arg;
    tls_value += (int)id;
    pthread_setspecific(key, (void *)(id * 10));
    errno = 0;
    if (id == 1) close(-1); /* EBADF in this thread only */
    usleep(1000);
    int my_errno = errno;
    long ok = tls_value == 7 + id && (long)pthread_getspecific(key) == id * 10 && my_errno == (id == 1 ? EBADF : 0);
    return (void *)ok;
}

static void test_tls(void) {
    pthread_t t[3];
    long ok = 0;
    CHECK(pthread_key_create(&key, NULL));
    for (long i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, tls_worker, (void *)i));
    for (int i = 0; i < 3; i++) {
        void *v;
        CHECK(pthread_join(t[i], &v));
        ok += (long)v;
    }
    printf("tls: %ld of 3 threads kept their own values and errno; main still %d\n", ok, tls_value);
}

/* ---- join, detach, thread ids ---- */
static volatile int detached_ran;

static void *detached(void *arg) {
    (void)arg;
    detached_ran = 1;
    return NULL;
}

static void *report_tid(void *arg) {
    pid_t *out = arg;
    *out = (pid_t)syscall(SYS_gettid);
    return NULL;
}

static void test_join_detach(void) {
    pthread_t t;
    pthread_attr_t attr;
    pid_t tid = 0;
    CHECK(pthread_create(&t, NULL, report_tid, &tid));
    CHECK(pthread_join(t, NULL));
    printf("join: thread tid differs from pid: %s; same pid: yes\n", tid != getpid() && tid > 0 ? "yes" : "no");
    CHECK(pthread_attr_init(&attr));
    CHECK(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED));
    CHECK(pthread_create(&t, &attr, detached, NULL));
    for (int i = 0; i < 1000 && !detached_ran; i++) usleep(1000);
    printf("detach: detached thread ran: %d\n", detached_ran);
}

/* ---- pthread_kill: the handler runs in the target thread ---- */
static volatile pid_t handled_in;
static volatile int sig_done;

static void on_usr1(int sig) {
    (void)sig;
    handled_in = (pid_t)syscall(SYS_gettid);
    sig_done = 1;
}

static void *wait_for_signal(void *arg) {
    pid_t *tid = arg;
    *tid = (pid_t)syscall(SYS_gettid);
    while (!sig_done) usleep(1000);
    return NULL;
}

static void test_pthread_kill(void) {
    pthread_t t;
    volatile pid_t tid = 0;
    signal(SIGUSR1, on_usr1);
    CHECK(pthread_create(&t, NULL, wait_for_signal, (void *)&tid));
    while (!tid) usleep(1000);
    CHECK(pthread_kill(t, SIGUSR1));
    CHECK(pthread_join(t, NULL));
    printf("pthread_kill: handler ran in the target thread: %s\n", handled_in == tid ? "yes" : "no");
    printf("pthread_kill with signal 0 on a live thread: %d\n", pthread_kill(pthread_self(), 0));
}

/* ---- cancellation ---- */
static volatile int cleanup_ran;

static void cleanup(void *arg) {
    (void)arg;
    cleanup_ran = 1;
}

static void *cancellable(void *arg) {
    (void)arg;
    pthread_cleanup_push(cleanup, NULL);
    for (;;) {
        usleep(1000); /* a cancellation point */
    }
    pthread_cleanup_pop(0);
    return NULL;
}

static void *deferred_loop(void *arg) {
    (void)arg;
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    usleep(20000);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    pthread_testcancel();
    return (void *)1;
}

static void test_cancel(void) {
    pthread_t t;
    void *res;
    CHECK(pthread_create(&t, NULL, cancellable, NULL));
    usleep(5000);
    CHECK(pthread_cancel(t));
    CHECK(pthread_join(t, &res));
    printf("cancel: canceled %s, cleanup handler ran %d\n", res == PTHREAD_CANCELED ? "yes" : "no", cleanup_ran);
    CHECK(pthread_create(&t, NULL, deferred_loop, NULL));
    CHECK(pthread_cancel(t));
    CHECK(pthread_join(t, &res));
    printf("cancel: disabled then testcancel: %s\n", res == PTHREAD_CANCELED ? "canceled" : "returned");
}

/* ---- a condvar timed wait times out ---- */
static void test_timedwait(void) {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 20 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&c, &m, &until);
    pthread_mutex_unlock(&m);
    printf("cond_timedwait: %s\n", errname(r));
    printf("mutex trylock on a held lock: %s\n", (pthread_mutex_lock(&m), errname(pthread_mutex_trylock(&m))));
    pthread_mutex_unlock(&m);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* "spin": loop forever without a syscall (for --timeout tests; never run natively). */
    if (argc > 1 && strcmp(argv[1], "spin") == 0) {
        printf("spinning\n");
        for (;;) {
        }
    }
    test_counter();
    test_producer_consumer();
    test_rwlock();
    test_barrier();
    test_tls();
    test_join_detach();
    test_pthread_kill();
    test_cancel();
    test_timedwait();
    printf("done\n");
    return 0;
}
