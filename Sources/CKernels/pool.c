// A small worker pool for the many short parallel loops of LLM decoding (about 120 matrix
// products per token, each a few tens of microseconds). Workers spin for a while after each
// task so the next one starts without a wake-up, then sleep on a futex. The caller takes part.
//
// Tasks are claimed through one 64-bit word holding (generation << 32 | next task), so a
// worker that wakes late for a finished generation can never claim a task of the next one.
#define _GNU_SOURCE
#include "ckernels.h"
#include "simd.h"
#include <linux/futex.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

struct pl_pool {
    int workers;
    pthread_t *threads;
    _Atomic uint64_t claim;  // generation << 32 | next task index
    _Atomic uint32_t seq;    // bumped per run; futex word for sleeping workers
    _Atomic int sleepers;
    _Atomic int done;        // tasks of the current generation finished
    _Atomic int busy;        // a run is in progress (a second caller runs inline)
    _Atomic int stop;
    _Atomic(pl_pool_fn) fn;
    _Atomic(void *) ctx;
    _Atomic int tasks;
    _Atomic int isa;         // the caller's thread override (-1: none), which the workers take
    long spin_ns;
};

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

// Claims and runs tasks of generation `gen` until none is left.
static void work(struct pl_pool *p, uint32_t gen) {
    for (;;) {
        uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
        if ((uint32_t)(c >> 32) != gen) return;
        const pl_pool_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
        const int tasks = atomic_load_explicit(&p->tasks, memory_order_relaxed);
        const int isa = atomic_load_explicit(&p->isa, memory_order_relaxed);
        const uint32_t i = (uint32_t)c;
        if ((int)i >= tasks) return;
        // Succeeds only while `gen` is current and task i unclaimed, so fn/ctx/tasks are gen's.
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1, memory_order_acq_rel, memory_order_relaxed))
            continue;
        // The task runs on the caller's kernel path (ISA.withThreadPath covers the whole run).
        pl_isa_thread_override = isa;
        fn(ctx, (int)i);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    struct pl_pool *p = arg;
    uint32_t seen = atomic_load(&p->seq);
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        uint32_t s = atomic_load_explicit(&p->seq, memory_order_acquire);
        if (s == seen) {
            const long until = now_ns() + p->spin_ns;
            for (int n = 1; (s = atomic_load_explicit(&p->seq, memory_order_acquire)) == seen; n++) {
                CPU_RELAX();
                if ((n & 255) == 0 && now_ns() > until) {
                    atomic_fetch_add(&p->sleepers, 1);
                    if (atomic_load(&p->seq) == seen && !atomic_load(&p->stop)) futex_wait(&p->seq, seen);
                    atomic_fetch_sub(&p->sleepers, 1);
                    if (atomic_load(&p->stop)) return NULL;
                }
            }
        }
        seen = s;
        work(p, (uint32_t)(atomic_load_explicit(&p->claim, memory_order_acquire) >> 32));
    }
    return NULL;
}

pl_pool *pl_pool_create(int workers, long spin_us) {
    struct pl_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->spin_ns = spin_us * 1000L;
    p->threads = calloc(workers > 0 ? (size_t)workers : 1, sizeof(pthread_t));
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) break;
        p->workers = i + 1;
    }
    return p;
}

void pl_pool_destroy(pl_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->seq, 1);
    futex_wake_all(&p->seq);
    for (int i = 0; i < p->workers; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p);
}

int pl_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int pl_pool_workers(const pl_pool *p) { return p ? p->workers : 0; }

void pl_pool_run(pl_pool *p, int tasks, pl_pool_fn fn, void *ctx) {
    if (tasks <= 0) return;
    int idle = 0;
    if (!p || p->workers == 0 || tasks == 1 || !atomic_compare_exchange_strong(&p->busy, &idle, 1)) {
        for (int i = 0; i < tasks; i++) fn(ctx, i);
        return;
    }
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&p->tasks, tasks, memory_order_relaxed);
    atomic_store_explicit(&p->isa, pl_isa_thread_override, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    const uint32_t gen = (uint32_t)(atomic_load_explicit(&p->claim, memory_order_relaxed) >> 32) + 1;
    atomic_store_explicit(&p->claim, (uint64_t)gen << 32, memory_order_release);
    atomic_fetch_add(&p->seq, 1);  // sequentially consistent: pairs with a worker's sleepers++
    if (atomic_load(&p->sleepers) > 0) futex_wake_all(&p->seq);
    work(p, gen);
    for (int n = 1; atomic_load_explicit(&p->done, memory_order_acquire) < tasks; n++) {
        CPU_RELAX();
        if ((n & 1023) == 0) sched_yield();  // a descheduled worker holds a task
    }
    atomic_store_explicit(&p->busy, 0, memory_order_release);
}
