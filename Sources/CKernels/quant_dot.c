// Quantized dot products in ggml's block layouts: a portable version and an AVX2 version
// chosen at run time. Every kernel is tested against the Swift scalar reference
// (PipelineTensor.QuantizedDot) in Tests/PipelineTensorTests.
#include "ckernels.h"
#include "simd.h"
#include "q6_k.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>


static inline float half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h2f_scalar(h);
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
    return hsum8(acc);
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
    return hsum8(acc);
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
    return hsum8(acc) + mins;
}

// ---- dispatch ----

float pl_dot_q8_0_q8_0(const void *w, const void *a, int n) {
    return pl_use_avx2() ? dot_q8_0_q8_0_avx2(w, a, n / 32) : dot_q8_0_q8_0_portable(w, a, n / 32);
}

float pl_dot_q4_0_q8_0(const void *w, const void *a, int n) {
    return pl_use_avx2() ? dot_q4_0_q8_0_avx2(w, a, n / 32) : dot_q4_0_q8_0_portable(w, a, n / 32);
}

float pl_dot_q4_1_q8_1(const void *w, const void *a, int n) {
    return pl_use_avx2() ? dot_q4_1_q8_1_avx2(w, a, n / 32) : dot_q4_1_q8_1_portable(w, a, n / 32);
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
        out[c0] = hsum8(acc0) + m0;
        out[c0 + 1] = hsum8(acc1) + m1;
        out[c0 + 2] = hsum8(acc2) + m2;
        out[c0 + 3] = hsum8(acc3) + m3;
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
        for (int c = 0; c < nc; c++) out[c0 + c] = hsum8(acc[c]);
    }
}

// Forward declarations of the Gemma 3 column kernels (defined with the single-column ones below).
static void dot_q5_0_q8_0_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out);
static void dot_q6_K_q8_K_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out);
static void dot_q4_K_q8_K_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out);

int pl_dot_cols(int type, const void *w, const void *a, int a_stride, int ncols, int n, float *out) {
    if (!pl_use_avx2()) return 0;
    switch (type) {
    case 3: dot_q4_1_q8_1_cols_avx2(w, a, a_stride, ncols, n / 32, out); return 1;
    case 8: dot_q8_0_q8_0_cols_avx2(w, a, a_stride, ncols, n / 32, out); return 1;
    case 6: dot_q5_0_q8_0_cols_avx2(w, a, a_stride, ncols, n / 32, out); return 1;
    case 12: dot_q4_K_q8_K_cols_avx2(w, a, a_stride, ncols, n / 256, out); return 1;
    case 14:
        if (!pl_q6_K_cols_avx512(w, a, a_stride, ncols, n, out)) dot_q6_K_q8_K_cols_avx2(w, a, a_stride, ncols, n / 256, out);
        return 1;
    default: return 0;
    }
}

// ---- tiled matrix product for prompt chunks ----
// Rows in tiles of 16 and columns in groups of 4, so a tile's weights and a group's
// activations both stay in L1 while every pair is used. Each output is the single-row,
// single-column result bit for bit (same per-output accumulator and order).

static void q5_0_matmul_avx2(const uint8_t *w, int row_bytes, int nrows, const uint8_t *a, int a_stride, int ncols, int nb,
                             const float *ascale, float *out, int out_stride);

int pl_matmul_cols(int type, const void *w, int row_bytes, int nrows, const void *a, int a_stride, int ncols, int n,
                   float *out, int out_stride) {
    if (!pl_use_avx2() || (type != 3 && type != 8 && type != 6 && type != 12 && type != 14)) return 0;
    if (type == 6 && ncols == 1) return pl_q5_0_matmul_avx512(w, row_bytes, nrows, a, a_stride, ncols, n, out, out_stride);
    if (type == 6 && pl_q5_0_matmul_avx512(w, row_bytes, nrows, a, a_stride, ncols, n, out, out_stride)) return 1;
    if (type == 6 && ncols >= 4) {
        // The activations' block scales as floats, converted once for every row.
        const int nb = n / 32, groups = (ncols + 7) / 8;
        float stack[1024];
        const size_t count = (size_t)groups * nb * 8;
        float *ascale = count <= 1024 ? stack : malloc(sizeof(float) * count);
        if (ascale) {
            for (int c = 0; c < groups * 8; c++) {
                const int col = c < ncols ? c : ncols - 1;
                for (int b = 0; b < nb; b++)
                    ascale[((size_t)(c / 8) * nb + b) * 8 + c % 8] = h2f((const uint8_t *)a + (size_t)col * a_stride + (size_t)b * 34);
            }
            q5_0_matmul_avx2(w, row_bytes, nrows, a, a_stride, ncols, nb, ascale, out, out_stride);
            if (ascale != stack) free(ascale);
            return 1;
        }
    }
    const uint8_t *wb = w, *ab = a;
    // Q6_K's AVX-512 kernel (pl_dot_cols) unpacks a row's blocks once for eight columns.
    const int wide = type == 14 && pl_gemma512_on() ? 8 : 4;
    float tmp[8];
    for (int r0 = 0; r0 < nrows; r0 += 16) {
        const int r1 = r0 + 16 < nrows ? r0 + 16 : nrows;
        for (int c0 = 0; c0 < ncols; c0 += wide) {
            const int nc = ncols - c0 < wide ? ncols - c0 : wide;
            for (int r = r0; r < r1; r++) {
                const uint8_t *row = wb + (size_t)r * row_bytes, *cols = ab + (size_t)c0 * a_stride;
                pl_dot_cols(type, row, cols, a_stride, nc, n, tmp);
                for (int c = 0; c < nc; c++) out[(size_t)(c0 + c) * out_stride + r] = tmp[c];
            }
        }
    }
    return 1;
}

// ---- K-quants and Q5_0 (Gemma 3's tensors) ----
// Each kernel reproduces the float arithmetic of the ggml path llama.cpp takes on an AVX2
// CPU, lane for lane; the integer parts are exact, so any order gives the same integers.
// The portable twins compute the same lanes in plain C and give the same bits.

/// Half to float for the portable code (exact).
static inline float h2f_plain(const uint8_t *p) { return half_to_float(p); }

/// hsum_float_8's reduction tree: ((x0+x4)+(x2+x6)) + ((x1+x5)+(x3+x7)).
static inline float hsum_lanes(const float *x) {
    const float r0 = x[4] + x[0], r1 = x[5] + x[1], r2 = x[6] + x[2], r3 = x[7] + x[3];
    return (r0 + r2) + (r1 + r3);
}

// Q8_K activations: ggml's quantize_row_q8_K_ref (x86 uses the reference): the element of
// largest magnitude (first one on ties) maps to -127 (iscale = -127/max), products rounded
// half to even, d = 1/iscale, 16 group sums of 16.
void pl_quantize_q8_K(const float *x, void *out, int n) {
    if (pl_quantize_q8_K_avx512(x, out, n)) return;
    uint8_t *o = out;
    for (int b = 0; b < n / 256; b++, x += 256, o += 292) {
        float amax = 0, max = 0;
        for (int j = 0; j < 256; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        int8_t *qs = (int8_t *)(o + 4);
        if (amax == 0) {
            memset(o, 0, 292);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; j++) {
            const int v = (int)nearbyintf(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += qs[16 * g + j];
            const int16_t s16 = (int16_t)s;
            memcpy(o + 260 + 2 * g, &s16, 2);
        }
        const float d = 1 / iscale;
        memcpy(o, &d, 4);
    }
}

// Q5_0 x Q8_0 (ggml_vec_dot_q5_0_q8_0): lane k sums elements 4k..4k+3 of each block,
// acc[k] = fma(dw * da, lane sum, acc[k]), then hsum_float_8.
static float dot_q5_0_q8_0_portable(const uint8_t *w, const uint8_t *a, int nb) {
    float acc[8] = {0};
    for (int b = 0; b < nb; b++, w += 22, a += 34) {
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        const float d = h2f_plain(w) * h2f_plain(a);
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int e = 4 * k; e < 4 * k + 4; e++) {
                const int nib = e < 16 ? (w[6 + e] & 0x0F) : (w[6 + e - 16] >> 4);
                const int q = (nib | (int)((qh >> e) & 1) << 4) - 16;
                s += q * (int8_t)a[2 + e];
            }
            acc[k] = fmaf(d, (float)s, acc[k]);
        }
    }
    return hsum_lanes(acc);
}

// Q6_K x Q8_K (ggml_vec_dot_q6_K_q8_K): per 128-element half j and quarter t, lane k takes
// elements 128j + 32t + 4k..+3 (unsigned 6-bit quants times their scale), less
// 32 * (bsums[2k]*sc[2k] + bsums[2k+1]*sc[2k+1]); acc[k] = fma(da * dw, lane, acc[k]).
static float dot_q6_K_q8_K_portable(const uint8_t *w, const uint8_t *a, int nb) {
    float acc[8] = {0};
    for (int b = 0; b < nb; b++, w += 210, a += 292) {
        float da;
        memcpy(&da, a, 4);
        const float d = da * h2f_plain(w + 208);
        const int8_t *sc = (const int8_t *)(w + 192);
        const int8_t *q8 = (const int8_t *)(a + 4);
        int16_t bsums[16];
        memcpy(bsums, a + 260, 32);
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int j = 0; j < 2; j++) {
                const uint8_t *ql = w + 64 * j, *qh = w + 128 + 32 * j;
                for (int t = 0; t < 4; t++) {
                    for (int l = 4 * k; l < 4 * k + 4; l++) {
                        const uint8_t low = t == 0 ? ql[l] & 0x0F : t == 1 ? ql[32 + l] & 0x0F : t == 2 ? ql[l] >> 4 : ql[32 + l] >> 4;
                        const int q = low | ((qh[l] >> (2 * t)) & 3) << 4;
                        const int e = 128 * j + 32 * t + l;
                        s += sc[e / 16] * q * q8[e];
                    }
                }
            }
            s -= 32 * (bsums[2 * k] * sc[2 * k] + bsums[2 * k + 1] * sc[2 * k + 1]);
            acc[k] = fmaf(d, (float)s, acc[k]);
        }
    }
    return hsum_lanes(acc);
}

// Q4_K's packed 6-bit scales and mins for its 8 sub-blocks.
static inline void q4_K_scales(const uint8_t *q, uint8_t *sc, uint8_t *m) {
    for (int s = 0; s < 8; s++) {
        if (s < 4) {
            sc[s] = q[s] & 63;
            m[s] = q[s + 4] & 63;
        } else {
            sc[s] = (q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4);
            m[s] = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
        }
    }
}

// Q4_K x Q8_K as llama.cpp runs it on AVX2: the weights are repacked 8 rows at a time and
// ggml_gemv_q4_K_8x8_q8_K gives each row one float accumulator for the scaled sums and one
// for the mins: per block, acc = fma(I, dw*da, acc), accm = fma(M, dmin*da, accm), result
// acc - accm, with I = sum of sc * (nibble . q8) and M = sum of m * (sub-block q8 sum).
static float dot_q4_K_q8_K_portable(const uint8_t *w, const uint8_t *a, int nb) {
    float acc = 0, accm = 0;
    for (int b = 0; b < nb; b++, w += 144, a += 292) {
        float da;
        memcpy(&da, a, 4);
        uint8_t sc[8], m[8];
        q4_K_scales(w + 4, sc, m);
        const int8_t *q8 = (const int8_t *)(a + 4);
        int16_t bsums[16];
        memcpy(bsums, a + 260, 32);
        int isum = 0, msum = 0;
        for (int s = 0; s < 8; s++) {
            int t = 0;
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = w[16 + 32 * (s / 2) + l];
                t += (s % 2 ? byte >> 4 : byte & 0x0F) * q8[32 * s + l];
            }
            isum += sc[s] * t;
            msum += m[s] * (bsums[2 * s] + bsums[2 * s + 1]);
        }
        acc = fmaf((float)isum, h2f_plain(w) * da, acc);
        accm = fmaf((float)msum, h2f_plain(w + 2) * da, accm);
    }
    return acc - accm;
}

AVX2 static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

// 32 bits -> 32 bytes: 0xFF where the bit is set.
AVX2 static inline __m256i bits_to_bytes(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuffle);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

AVX2 static inline __m256i q5_0_bytes(const uint8_t *w) {
    const __m256i high = _mm256_andnot_si256(bits_to_bytes(w + 2), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(unpack_nibbles(w + 6), high);
}

AVX2 static float dot_q5_0_q8_0_avx2(const uint8_t *w, const uint8_t *a, int nb) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 22, a += 34) {
        const __m256i x = q5_0_bytes(w);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 2));
        const __m256 s = _mm256_cvtepi32_ps(mul_sum_i8(x, y));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w) * h2f(a)), s, acc);
    }
    return hsum8(acc);
}

AVX2 static inline __m256i q6_K_block_sum(const uint8_t *w, const uint8_t *a) {
    const int8_t *q8 = (const int8_t *)(a + 4);
    const __m128i scales = _mm_loadu_si128((const __m128i *)(w + 192));
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 2; j++, q8 += 128) {
        __m256i x[4], s[4];
        q6_K_half(w, j, x);
        q6_K_piece_scales(scales, j, s);
        __m256i p[4];
        for (int t = 0; t < 4; t++) p[t] = _mm256_madd_epi16(s[t], _mm256_maddubs_epi16(x[t], _mm256_loadu_si256((const __m256i *)(q8 + 32 * t))));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p[0], p[1]));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p[2], p[3]));
    }
    return _mm256_sub_epi32(sumi, q6_K_bias(a, _mm256_cvtepi8_epi16(scales)));
}

AVX2 static float dot_q6_K_q8_K_avx2(const uint8_t *w, const uint8_t *a, int nb) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 210, a += 292) {
        float da;
        memcpy(&da, a, 4);
        const __m256i sumi = q6_K_block_sum(w, a);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(da * h2f(w + 208)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum8(acc);
}

// One Q4_K block's integer sums: I (scaled nibble products) and M (mins times sub-block sums).
AVX2 static inline void q4_K_block_sums(const uint8_t *w, const uint8_t *a, int *isum, int *msum) {
    uint8_t sc[8], m[8];
    q4_K_scales(w + 4, sc, m);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const uint8_t *q8 = a + 4;
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        const __m256i bits = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * j));
        const __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
        const __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(q8 + 64 * j))),
                                             _mm256_set1_epi16(sc[2 * j]));
        const __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 64 * j + 32))),
                                             _mm256_set1_epi16(sc[2 * j + 1]));
        acc = _mm256_add_epi32(acc, _mm256_add_epi32(pl, ph));
    }
    *isum = hsum_i32(acc);
    int16_t bsums[16];
    memcpy(bsums, a + 260, 32);
    int s = 0;
    for (int k = 0; k < 8; k++) s += m[k] * (bsums[2 * k] + bsums[2 * k + 1]);
    *msum = s;
}

AVX2 static float dot_q4_K_q8_K_avx2(const uint8_t *w, const uint8_t *a, int nb) {
    float acc = 0, accm = 0;
    for (int b = 0; b < nb; b++, w += 144, a += 292) {
        float da;
        memcpy(&da, a, 4);
        int isum, msum;
        q4_K_block_sums(w, a, &isum, &msum);
        acc = fmaf((float)isum, h2f(w) * da, acc);
        accm = fmaf((float)msum, h2f(w + 2) * da, accm);
    }
    return acc - accm;
}

float pl_dot_q5_0_q8_0(const void *w, const void *a, int n) {
    return pl_use_avx2() ? dot_q5_0_q8_0_avx2(w, a, n / 32) : dot_q5_0_q8_0_portable(w, a, n / 32);
}

float pl_dot_q6_K_q8_K(const void *w, const void *a, int n) {
    return pl_use_avx2() ? dot_q6_K_q8_K_avx2(w, a, n / 256) : dot_q6_K_q8_K_portable(w, a, n / 256);
}

float pl_dot_q4_K_q8_K(const void *w, const void *a, int n) {
    return pl_use_avx2() ? dot_q4_K_q8_K_avx2(w, a, n / 256) : dot_q4_K_q8_K_portable(w, a, n / 256);
}

// ---- Gemma 3 types, several activation columns per weight row ----
// Weight blocks are unpacked once for up to 4 columns; each column keeps the single kernel's
// accumulator and order, so every output is bit-identical to it.

AVX2 static void dot_q5_0_q8_0_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out) {
    for (int c0 = 0; c0 < ncols; c0 += 4) {
        const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        const uint8_t *wb = w;
        for (int b = 0; b < nb; b++, wb += 22) {
            const __m256i x = q5_0_bytes(wb);
            const float dw = h2f(wb);
            for (int c = 0; c < nc; c++) {
                const uint8_t *ab = a + (size_t)(c0 + c) * a_stride + (size_t)b * 34;
                const __m256 s = _mm256_cvtepi32_ps(mul_sum_i8(x, _mm256_loadu_si256((const __m256i *)(ab + 2))));
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(ab)), s, acc[c]);
            }
        }
        for (int c = 0; c < nc; c++) out[c0 + c] = hsum8(acc[c]);
    }
}

// Each block's 6-bit weights and scale shuffles are unpacked once for the (up to) four
// columns; the integer sums per lane are the single kernel's (exact, so the order of adds does
// not matter) and the float steps are its steps.
AVX2 static void dot_q6_K_q8_K_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out) {
    for (int c0 = 0; c0 < ncols; c0 += 4) {
        const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        const uint8_t *wb = w;
        for (int b = 0; b < nb; b++, wb += 210) {
            const float dw = h2f(wb + 208);
            const __m128i scales = _mm_loadu_si128((const __m128i *)(wb + 192));
            __m256i sumi[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
            for (int j = 0; j < 2; j++) {
                __m256i x[4], s[4];
                q6_K_half(wb, j, x);
                q6_K_piece_scales(scales, j, s);
                for (int c = 0; c < nc; c++) {
                    const uint8_t *q8 = a + (size_t)(c0 + c) * a_stride + (size_t)b * 292 + 4 + 128 * j;
                    __m256i p[4];
                    for (int t = 0; t < 4; t++) p[t] = _mm256_madd_epi16(s[t], _mm256_maddubs_epi16(x[t], _mm256_loadu_si256((const __m256i *)(q8 + 32 * t))));
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(_mm256_add_epi32(p[0], p[1]), _mm256_add_epi32(p[2], p[3])));
                }
            }
            const __m256i scales16 = _mm256_cvtepi8_epi16(scales);
            for (int c = 0; c < nc; c++) {
                const uint8_t *ab = a + (size_t)(c0 + c) * a_stride + (size_t)b * 292;
                float da;
                memcpy(&da, ab, 4);
                const __m256i total = _mm256_sub_epi32(sumi[c], q6_K_bias(ab, scales16));
                acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(da * dw), _mm256_cvtepi32_ps(total), acc[c]);
            }
        }
        for (int c = 0; c < nc; c++) out[c0 + c] = hsum8(acc[c]);
    }
}

AVX2 static void dot_q4_K_q8_K_cols_avx2(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out) {
    for (int c0 = 0; c0 < ncols; c0 += 4) {
        const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
        float acc[4] = {0}, accm[4] = {0};
        const uint8_t *wb = w;
        for (int b = 0; b < nb; b++, wb += 144) {
            const float dw = h2f(wb), dmin = h2f(wb + 2);
            for (int c = 0; c < nc; c++) {
                const uint8_t *ab = a + (size_t)(c0 + c) * a_stride + (size_t)b * 292;
                float da;
                memcpy(&da, ab, 4);
                int isum, msum;
                q4_K_block_sums(wb, ab, &isum, &msum);
                acc[c] = fmaf((float)isum, dw * da, acc[c]);
                accm[c] = fmaf((float)msum, dmin * da, accm[c]);
            }
        }
        for (int c = 0; c < nc; c++) out[c0 + c] = acc[c] - accm[c];
    }
}

// ---- Q5_0 prompt GEMM: one row by eight columns per step ----
// Each output keeps ggml_vec_dot_q5_0_q8_0's operations and order (one 8-lane accumulator,
// acc = fma(dw * da, lane sums, acc) per block, then hsum_float_8), so it is bit-identical to
// the single dot. A row's block is unpacked once for eight columns; the eight products dw * da
// come from one vector multiply (each lane the same IEEE product as the scalar one) and are
// broadcast from memory, so the per-column work is sign, maddubs, madd, convert and fma.
// `ascale` holds the activations' block scales as floats, [column group of 8][block][8].
AVX2 __attribute__((always_inline)) static inline void q5_0_row8(const uint8_t *w, const uint8_t *const acol[8],
                                                               const float *sc8, int nc, int nb, float *out, int out_stride) {
    __m256 acc[8];
    for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    float prod[8] __attribute__((aligned(32)));
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = w + (size_t)b * 22;
        const __m256i x = q5_0_bytes(wb), ax = _mm256_sign_epi8(x, x);
        _mm256_store_ps(prod, _mm256_mul_ps(_mm256_set1_ps(h2f(wb)), _mm256_loadu_ps(sc8 + (size_t)b * 8)));
        for (int c = 0; c < nc; c++) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(acol[c] + (size_t)b * 34 + 2));
            const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, x)), ones));
            acc[c] = _mm256_fmadd_ps(_mm256_broadcast_ss(prod + c), s, acc[c]);
        }
    }
    for (int c = 0; c < nc; c++) out[(size_t)c * out_stride] = hsum8(acc[c]);
}

AVX2 static void q5_0_matmul_avx2(const uint8_t *w, int row_bytes, int nrows, const uint8_t *a, int a_stride, int ncols, int nb,
                                  const float *ascale, float *out, int out_stride) {
    for (int r0 = 0; r0 < nrows; r0 += 16) {
        const int r1 = r0 + 16 < nrows ? r0 + 16 : nrows;
        for (int c0 = 0; c0 < ncols; c0 += 8) {
            const int nc = ncols - c0 < 8 ? ncols - c0 : 8;
            const uint8_t *acol[8];
            for (int c = 0; c < 8; c++) acol[c] = a + (size_t)(c0 + (c < nc ? c : 0)) * a_stride;
            const float *sc8 = ascale + (size_t)(c0 / 8) * nb * 8;
            float *o = out + (size_t)c0 * out_stride;
            for (int r = r0; r < r1; r++) {
                const uint8_t *wr = w + (size_t)r * row_bytes;
                if (nc == 8) q5_0_row8(wr, acol, sc8, 8, nb, o + r, out_stride);
                else q5_0_row8(wr, acol, sc8, nc, nb, o + r, out_stride);
            }
        }
    }
}
