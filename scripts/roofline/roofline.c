// The physical limits of this machine for the LLM kernels: streaming-read memory bandwidth and
// peak arithmetic rates for the instruction mix the kernels use (AVX2 f32 FMA; int8 maddubs +
// madd + add, the quantized dot products' inner loop; and, where the CPU has AVX-512 VNNI,
// vpdpbusd on 256- and 512-bit vectors). Threads are pinned one per CPU given on
// the command line; each measurement is repeated and printed as median and best.
//
//   cc -O2 -mavx2 -mfma -pthread roofline.c -o roofline && ./roofline 0 1
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { REPEATS = 7 };
static size_t buffer_bytes = (size_t)1 << 30;  // 1 GiB: far past any cache
static int cpus[64], ncpus;

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

typedef struct {
    int cpu, kind;
    const uint8_t *data;
    size_t bytes;
    long iterations;
    pthread_barrier_t *start;
    double seconds, cpu_seconds;
    volatile int64_t sink;
} job;

// Sums 256-bit loads with four independent accumulators: the read stream is the only limit.
static int64_t stream_read(const uint8_t *p, size_t bytes) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < bytes; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    return _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 3);
}

// 12 independent FMA chains (latency 4 x 2 pipes needs at least 8): 12 x 16 flops per step.
// The chains are named variables, so they live in registers.
static int64_t fma_peak(long n) {
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define V(i) __m256 a##i = _mm256_set1_ps(1.0f + i * 1e-3f);
    V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7) V(8) V(9) V(10) V(11)
#undef V
    for (long k = 0; k < n; k++) {
#define F(i) a##i = _mm256_fmadd_ps(a##i, m, c);
        F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
#undef F
    }
    const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7))),
                                   _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return (int64_t)out[0];
}

// The quantized kernels' inner step: maddubs (32 u8 x i8 products, pairs summed to i16), madd
// by ones (pairs to i32), add to an i32 accumulator; 8 independent chains. 64 int ops
// (32 multiply-adds) per step and chain. The weights vary per chain and are hidden from the
// compiler each step, so nothing is hoisted.
static int64_t int8_peak(long n) {
    const __m256i y = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    __m256i x0 = _mm256_set1_epi8(3), x1 = _mm256_set1_epi8(4), x2 = _mm256_set1_epi8(5), x3 = _mm256_set1_epi8(6);
#define V(i) __m256i acc##i = _mm256_setzero_si256();
    V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7)
#undef V
    for (long k = 0; k < n; k++) {
        __asm__ volatile("" : "+x"(x0), "+x"(x1), "+x"(x2), "+x"(x3));
#define F(i, x) acc##i = _mm256_add_epi32(acc##i, _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), ones));
        F(0, x0) F(1, x1) F(2, x2) F(3, x3) F(4, x0) F(5, x1) F(6, x2) F(7, x3)
#undef F
    }
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(acc0, acc1), _mm256_add_epi32(acc2, acc3)),
                                       _mm256_add_epi32(_mm256_add_epi32(acc4, acc5), _mm256_add_epi32(acc6, acc7)));
    return _mm256_extract_epi32(s, 0);
}

// maddubs with i16 adds (the Q4_K x8 kernel's inner step), 8 chains, 64 int ops per step.
static int64_t maddubs_peak(long n) {
    const __m256i y = _mm256_set1_epi8(-2);
    __m256i x0 = _mm256_set1_epi8(3), x1 = _mm256_set1_epi8(4), x2 = _mm256_set1_epi8(5), x3 = _mm256_set1_epi8(6);
#define V(i) __m256i acc##i = _mm256_setzero_si256();
    V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7)
#undef V
    for (long k = 0; k < n; k++) {
        __asm__ volatile("" : "+x"(x0), "+x"(x1), "+x"(x2), "+x"(x3));
#define F(i, x) acc##i = _mm256_add_epi16(acc##i, _mm256_maddubs_epi16(x, y));
        F(0, x0) F(1, x1) F(2, x2) F(3, x3) F(4, x0) F(5, x1) F(6, x2) F(7, x3)
#undef F
    }
    const __m256i s = _mm256_add_epi16(_mm256_add_epi16(_mm256_add_epi16(acc0, acc1), _mm256_add_epi16(acc2, acc3)),
                                       _mm256_add_epi16(_mm256_add_epi16(acc4, acc5), _mm256_add_epi16(acc6, acc7)));
    return _mm256_extract_epi16(s, 0);
}

// vpdpbusd (AVX-512 VNNI: 4 u8 x i8 products summed into each i32 lane), the AVX-512 Gemma
// kernels' inner step (quant_avx512_k.c); 8 chains, 64 int ops per 256-bit step, 128 per
// 512-bit step. Compiled for VNNI per function and run only where the CPU has it.
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
VNNI static int64_t vnni256_peak(long n) {
    const __m256i y = _mm256_set1_epi8(-2);
    __m256i x0 = _mm256_set1_epi8(3), x1 = _mm256_set1_epi8(4), x2 = _mm256_set1_epi8(5), x3 = _mm256_set1_epi8(6);
#define V(i) __m256i acc##i = _mm256_setzero_si256();
    V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7)
#undef V
    for (long k = 0; k < n; k++) {
        __asm__ volatile("" : "+v"(x0), "+v"(x1), "+v"(x2), "+v"(x3));
#define F(i, x) acc##i = _mm256_dpbusd_epi32(acc##i, x, y);
        F(0, x0) F(1, x1) F(2, x2) F(3, x3) F(4, x0) F(5, x1) F(6, x2) F(7, x3)
#undef F
    }
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(acc0, acc1), _mm256_add_epi32(acc2, acc3)),
                                       _mm256_add_epi32(_mm256_add_epi32(acc4, acc5), _mm256_add_epi32(acc6, acc7)));
    return _mm256_extract_epi32(s, 0);
}

VNNI static int64_t vnni512_peak(long n) {
    const __m512i y = _mm512_set1_epi8(-2);
    __m512i x0 = _mm512_set1_epi8(3), x1 = _mm512_set1_epi8(4), x2 = _mm512_set1_epi8(5), x3 = _mm512_set1_epi8(6);
#define V(i) __m512i acc##i = _mm512_setzero_si512();
    V(0) V(1) V(2) V(3) V(4) V(5) V(6) V(7)
#undef V
    for (long k = 0; k < n; k++) {
        __asm__ volatile("" : "+v"(x0), "+v"(x1), "+v"(x2), "+v"(x3));
#define F(i, x) acc##i = _mm512_dpbusd_epi32(acc##i, x, y);
        F(0, x0) F(1, x1) F(2, x2) F(3, x3) F(4, x0) F(5, x1) F(6, x2) F(7, x3)
#undef F
    }
    const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(acc0, acc1), _mm512_add_epi32(acc2, acc3)),
                                       _mm512_add_epi32(_mm512_add_epi32(acc4, acc5), _mm512_add_epi32(acc6, acc7)));
    return _mm512_reduce_add_epi32(s);
}

static void *run(void *arg) {
    job *j = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    pthread_barrier_wait(j->start);
    const double t0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    switch (j->kind) {
    case 0: j->sink = stream_read(j->data, j->bytes); break;
    case 1: j->sink = fma_peak(j->iterations); break;
    case 2: j->sink = int8_peak(j->iterations); break;
    case 3: j->sink = maddubs_peak(j->iterations); break;
    case 4: j->sink = vnni256_peak(j->iterations); break;
    default: j->sink = vnni512_peak(j->iterations); break;
    }
    j->seconds = now() - t0;
    j->cpu_seconds = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

// One measurement on `threads` threads: the rate in units per second (units = bytes, flops or
// int ops), from the slowest thread's wall time, and (in *on_cpu) from the time the threads
// were actually on a CPU: on a machine shared with other work, the second is what the
// hardware does while it runs us.
static double measure(int kind, int threads, uint8_t *buffer, double *on_cpu) {
    pthread_t t[64];
    job jobs[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads);
    const long iterations = 20000000;
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){.cpu = cpus[i], .kind = kind, .start = &start, .iterations = iterations};
        jobs[i].bytes = buffer_bytes / threads;
        jobs[i].data = buffer + jobs[i].bytes * i;
        pthread_create(&t[i], NULL, run, &jobs[i]);
    }
    double slowest = 0, cpu = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].seconds > slowest) slowest = jobs[i].seconds;
        cpu += jobs[i].cpu_seconds;
    }
    pthread_barrier_destroy(&start);
    const double per_thread = kind == 0 ? (double)buffer_bytes / threads
                            : kind == 1 ? iterations * 12.0 * 16
                            : kind == 5 ? iterations * 8.0 * 128
                            : iterations * 8.0 * 64;
    *on_cpu = per_thread * threads / (cpu / threads);
    return per_thread * threads / slowest;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc && ncpus < 64; i++) cpus[ncpus++] = atoi(argv[i]);
    if (!ncpus) cpus[ncpus++] = 0;
    const char *mb = getenv("ROOFLINE_MB");
    if (mb) buffer_bytes = (size_t)atol(mb) << 20;
    uint8_t *buffer = aligned_alloc(64, buffer_bytes);
    if (!buffer) {
        fprintf(stderr, "roofline: cannot allocate %zu bytes\n", buffer_bytes);
        return 1;
    }
    memset(buffer, 1, buffer_bytes);  // fault every page in before timing
    const char *names[] = {"stream read GB/s", "f32 FMA GFLOP/s", "int8 maddubs+madd+add Gop/s", "int8 maddubs+add16 Gop/s",
                           "int8 vpdpbusd ymm Gop/s", "int8 vpdpbusd zmm Gop/s"};
    __builtin_cpu_init();
    const int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
    const char *only = getenv("ROOFLINE_ONLY");  // e.g. "4,5": just these measures
    printf("%-30s %8s %10s %10s %14s %10s\n", "measure", "threads", "median", "best", "on-CPU median", "best");
    for (int kind = 0; kind < (vnni ? 6 : 4); kind++) {
        if (only && !strchr(only, '0' + kind)) continue;
        for (int threads = 1; threads <= ncpus; threads++) {
            double r[REPEATS], c[REPEATS];
            for (int k = 0; k < REPEATS; k++) {
                r[k] = measure(kind, threads, buffer, &c[k]) / 1e9;
                c[k] /= 1e9;
            }
            qsort(r, REPEATS, sizeof r[0], cmp);
            qsort(c, REPEATS, sizeof c[0], cmp);
            printf("%-30s %8d %10.1f %10.1f %14.1f %10.1f\n", names[kind], threads, r[REPEATS / 2], r[REPEATS - 1],
                   c[REPEATS / 2], c[REPEATS - 1]);
            fflush(stdout);
        }
    }
    free(buffer);
    return 0;
}
