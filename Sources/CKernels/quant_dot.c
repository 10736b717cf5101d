// Quantized dot products in ggml's block layouts: a portable version and an AVX2 version
// chosen at run time. Every kernel is tested against the Swift scalar reference
// (PipelineTensor.QuantizedDot) in Tests/PipelineTensorTests.
#include "ckernels.h"
#include <string.h>
#include <immintrin.h>

// Per thread, so a test forcing the portable kernels never changes another thread's results.
static _Thread_local int forced_portable = 0;
void pl_force_portable(int on) { forced_portable = on; }
int pl_kernels_portable(void) { return forced_portable || !pl_cpu_has_avx2(); }

int pl_cpu_has_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }
    return cached;
}

static inline float half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return (float)*(const _Float16 *)&h;
}

// ---- portable ----

static float dot_q8_0_q8_0_portable(const uint8_t *w, const uint8_t *a, int nb) {
    float total = 0;
    for (int b = 0; b < nb; b++, w += 34, a += 34) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += (int8_t)w[2 + j] * (int8_t)a[2 + j];
        total += half_to_float(w) * half_to_float(a) * (float)s;
    }
    return total;
}

static float dot_q4_0_q8_0_portable(const uint8_t *w, const uint8_t *a, int nb) {
    float total = 0;
    for (int b = 0; b < nb; b++, w += 18, a += 34) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += ((w[2 + j] & 0x0F) - 8) * (int8_t)a[2 + j] + ((w[2 + j] >> 4) - 8) * (int8_t)a[18 + j];
        }
        total += half_to_float(w) * half_to_float(a) * (float)s;
    }
    return total;
}

static float dot_q4_1_q8_1_portable(const uint8_t *w, const uint8_t *a, int nb) {
    float total = 0;
    for (int b = 0; b < nb; b++, w += 20, a += 36) {
        int s = 0;
        for (int j = 0; j < 16; j++) s += (w[4 + j] & 0x0F) * (int8_t)a[4 + j] + (w[4 + j] >> 4) * (int8_t)a[20 + j];
        total += half_to_float(w) * half_to_float(a) * (float)s + half_to_float(w + 2) * half_to_float(a + 2);
    }
    return total;
}

// ---- AVX2 ----

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

// Half to float by table, as ggml does on x86: a scalar F16C conversion compiles to vpinsrw
// into a live register, which chains every block's scale load to the previous block's work.
static float f16_table[65536];
static void init_f16_table(void) {
    for (int i = 0; i < 65536; i++) f16_table[i] = half_to_float((const uint8_t *)&(uint16_t){(uint16_t)i});
}
__attribute__((constructor)) static void pl_kernels_init(void) { init_f16_table(); }

AVX2 static inline float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return f16_table[h];
}

// Signed x signed bytes -> 8 x i32 sums, via |x| (unsigned) times sign-adjusted y.
AVX2 static inline __m256i mul_sum_i8(__m256i x, __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

// Unsigned x signed bytes -> 8 x i32 sums.
AVX2 static inline __m256i mul_sum_u8_i8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// 16 packed nibble bytes -> 32 bytes: low nibbles (elements 0-15), then high (16-31).
AVX2 static inline __m256i unpack_nibbles(const uint8_t *q) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)q);
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(bytes, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    return _mm256_set_m128i(hi, lo);
}

AVX2 static float dot_q8_0_q8_0_avx2(const uint8_t *w, const uint8_t *a, int nb) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 34, a += 34) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(w + 2));
        const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 2));
        const __m256 s = _mm256_cvtepi32_ps(mul_sum_i8(x, y));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w) * h2f(a)), s, acc);
    }
    return hsum(acc);
}

AVX2 static float dot_q4_0_q8_0_avx2(const uint8_t *w, const uint8_t *a, int nb) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i eight = _mm256_set1_epi8(8);
    for (int b = 0; b < nb; b++, w += 18, a += 34) {
        const __m256i x = _mm256_sub_epi8(unpack_nibbles(w + 2), eight);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 2));
        const __m256 s = _mm256_cvtepi32_ps(mul_sum_i8(x, y));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w) * h2f(a)), s, acc);
    }
    return hsum(acc);
}

AVX2 static float dot_q4_1_q8_1_avx2(const uint8_t *w, const uint8_t *a, int nb) {
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int b = 0; b < nb; b++, w += 20, a += 36) {
        const __m256i x = unpack_nibbles(w + 4);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 4));
        const __m256 s = _mm256_cvtepi32_ps(mul_sum_u8_i8(x, y));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w) * h2f(a)), s, acc);
        mins += h2f(w + 2) * h2f(a + 2);
    }
    return hsum(acc) + mins;
}

// ---- dispatch ----

float pl_dot_q8_0_q8_0(const void *w, const void *a, int n) {
    return !forced_portable && pl_cpu_has_avx2() ? dot_q8_0_q8_0_avx2(w, a, n / 32) : dot_q8_0_q8_0_portable(w, a, n / 32);
}

float pl_dot_q4_0_q8_0(const void *w, const void *a, int n) {
    return !forced_portable && pl_cpu_has_avx2() ? dot_q4_0_q8_0_avx2(w, a, n / 32) : dot_q4_0_q8_0_portable(w, a, n / 32);
}

float pl_dot_q4_1_q8_1(const void *w, const void *a, int n) {
    return !forced_portable && pl_cpu_has_avx2() ? dot_q4_1_q8_1_avx2(w, a, n / 32) : dot_q4_1_q8_1_portable(w, a, n / 32);
}

// ---- several activation columns per weight row ----
// Each column's result is bit-identical to the single-column kernel (same per-column
// accumulator, same order); the weight blocks are unpacked once for up to 4 columns.

AVX2 static void dot_q4_1_q8_1_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out) {
    int c0 = 0;
    for (; c0 + 3 < ncols; c0 += 4) {
        const uint8_t *a0 = a + (size_t)c0 * a_stride, *a1 = a0 + a_stride, *a2 = a1 + a_stride, *a3 = a2 + a_stride;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        const uint8_t *wb = w;
        for (int b = 0; b < nb; b++, wb += 20) {
            const __m256i x = unpack_nibbles(wb + 4);
            const float dw = h2f(wb), mw = h2f(wb + 2);
            const size_t o = (size_t)b * 36;
#define COL(acc, m, ab) { \
                const __m256 s = _mm256_cvtepi32_ps(mul_sum_u8_i8(x, _mm256_loadu_si256((const __m256i *)(ab + o + 4)))); \
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(ab + o)), s, acc); \
                m += mw * h2f(ab + o + 2); }
            COL(acc0, m0, a0) COL(acc1, m1, a1) COL(acc2, m2, a2) COL(acc3, m3, a3)
#undef COL
        }
        out[c0] = hsum(acc0) + m0;
        out[c0 + 1] = hsum(acc1) + m1;
        out[c0 + 2] = hsum(acc2) + m2;
        out[c0 + 3] = hsum(acc3) + m3;
    }
    for (; c0 < ncols; c0++) out[c0] = dot_q4_1_q8_1_avx2(w, a + (size_t)c0 * a_stride, nb);
}

AVX2 static void dot_q8_0_q8_0_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out) {
    for (int c0 = 0; c0 < ncols; c0 += 4) {
        const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        const uint8_t *wb = w;
        for (int b = 0; b < nb; b++, wb += 34) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(wb + 2));
            const float dw = h2f(wb);
            for (int c = 0; c < nc; c++) {
                const uint8_t *ab = a + (size_t)(c0 + c) * a_stride + (size_t)b * 34;
                const __m256i y = _mm256_loadu_si256((const __m256i *)(ab + 2));
                const __m256 s = _mm256_cvtepi32_ps(mul_sum_i8(x, y));
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(ab)), s, acc[c]);
            }
        }
        for (int c = 0; c < nc; c++) out[c0 + c] = hsum(acc[c]);
    }
}

int pl_dot_cols(int type, const void *w, const void *a, int a_stride, int ncols, int n, float *out) {
    if (forced_portable || !pl_cpu_has_avx2()) return 0;
    switch (type) {
    case 3: dot_q4_1_q8_1_cols_avx2(w, a, a_stride, ncols, n / 32, out); return 1;
    case 8: dot_q8_0_q8_0_cols_avx2(w, a, a_stride, ncols, n / 32, out); return 1;
    default: return 0;
    }
}

// ---- tiled matrix product for prompt chunks ----
// Rows in tiles of 16 and columns in groups of 4, so a tile's weights and a group's
// activations both stay in L1 while every pair is used. Each output is the single-row,
// single-column result bit for bit (same per-output accumulator and order).

int pl_matmul_cols(int type, const void *w, int row_bytes, int nrows, const void *a, int a_stride, int ncols, int n,
                   float *out, int out_stride) {
    if (forced_portable || !pl_cpu_has_avx2() || (type != 3 && type != 8)) return 0;
    const uint8_t *wb = w, *ab = a;
    float tmp[4];
    for (int r0 = 0; r0 < nrows; r0 += 16) {
        const int r1 = r0 + 16 < nrows ? r0 + 16 : nrows;
        for (int c0 = 0; c0 < ncols; c0 += 4) {
            const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
            for (int r = r0; r < r1; r++) {
                const uint8_t *row = wb + (size_t)r * row_bytes, *cols = ab + (size_t)c0 * a_stride;
                if (type == 3) dot_q4_1_q8_1_cols_avx2(row, cols, a_stride, nc, n / 32, tmp);
                else dot_q8_0_q8_0_cols_avx2(row, cols, a_stride, nc, n / 32, tmp);
                for (int c = 0; c < nc; c++) out[(size_t)(c0 + c) * out_stride + r] = tmp[c];
            }
        }
    }
    return 1;
}
