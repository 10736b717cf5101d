// The float kernels of the LLM decoder on the AVX-512 path, bit-identical to what llama.cpp
// 0.3.36's native build (GGML_NATIVE=ON, GCC, -march=native) computes on an AVX-512 CPU for a
// one-token step: ggml's __m512 branches of ggml_vec_dot_f16, ggml_vec_soft_max_f32 and
// ggml_vec_swiglu_f32, with the AVX-512 ggml_v_expf (a scalef-based variant of the AVX2 one,
// with other rounding) and GCC's _mm512_reduce_add_ps tree, written out here because clang's
// intrinsic of the same name may reduce in another order.
//
// The quantized dot products need nothing new for exactness: on this path llama.cpp's native
// build runs the same 8-lane AVX2 loops (VNNI's dpbusd in place of maddubs+madd gives the same
// integers for these types), so the AVX2 kernels serve both paths. See docs/models.md,
// "What llama.cpp's native build runs here". Each kernel here is checked in
// Tests/PipelineTensorTests/AVX512KernelTests.swift against a plain reference of the same order.
#include "llm_avx512.h"
#include <math.h>
#include <string.h>
#include <immintrin.h>

// GCC 12's _mm512_reduce_add_ps: lanes i + (i+8), then + (i+4), then (t0+t2) + (t1+t3).
PL_AVX512 static inline float reduce_add_ggml(__m512 v) {
    const __m256 t3 = _mm256_add_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)),
                                    _mm512_castps512_ps256(v));
    const __m128 t6 = _mm_add_ps(_mm256_extractf128_ps(t3, 1), _mm256_castps256_ps128(t3));
    const __m128 t8 = _mm_add_ps(t6, _mm_shuffle_ps(t6, t6, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(_mm_add_ss(t8, _mm_movehdup_ps(t8)));
}

// ggml_v_expf for __m512: n = round(x / ln2), b = x - n ln2 in two steps, a degree-5
// polynomial j around 1, result scalef(j, n); |n| > 192 gives +inf (n > 0) or 0.
PL_AVX512 static inline __m512 v_expf512(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 d = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 res = _mm512_scalef_ps(j, n);
    if (_mm512_kortestz(d, d)) return res;
    const __m512 zero = _mm512_setzero_ps();
    const __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, zero, _CMP_LE_OQ), _mm512_set1_ps(INFINITY), zero);
    return _mm512_mask_blend_ps(d, res, alt);
}

PL_AVX512 void pl_swiglu_avx512(const float *gate, const float *up, float *y, int n) {
    int i = 0;
    const __m512 one = _mm512_set1_ps(1), zero = _mm512_setzero_ps();
    for (; i + 15 < n; i += 16) {
        const __m512 x = _mm512_loadu_ps(gate + i);
        const __m512 silu = _mm512_div_ps(x, _mm512_add_ps(one, v_expf512(_mm512_sub_ps(zero, x))));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
    }
    for (; i < n; i++) y[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

PL_AVX512 double pl_softmax_exp_avx512(const float *x, float *y, float max, int n) {
    int i = 0;
    double sum = 0;
    const __m512 m = _mm512_set1_ps(max);
    for (; i + 15 < n; i += 16) {
        const __m512 v = v_expf512(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
        _mm512_storeu_ps(y + i, v);
        sum += (double)reduce_add_ggml(v);
    }
    for (; i < n; i++) {
        const float v = expf(x[i] - max);
        sum += (double)v;
        y[i] = v;
    }
    return sum;
}

// The four accumulators over whole steps of 64, then ggml's reduction to one float.
#define DOT_F16_STEPS(LOAD_X, LOAD_Y, END)                                                         \
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}; \
    for (int i = 0; i < (END); i += 64)                                                           \
        for (int j = 0; j < 4; j++) acc[j] = _mm512_fmadd_ps(LOAD_X(i + 16 * j), LOAD_Y(i + 16 * j), acc[j]);

#define LOAD_F16(p, k) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((p) + (k))))

PL_AVX512 static inline float reduce4(__m512 acc[4]) {
    acc[0] = _mm512_add_ps(acc[0], acc[2]);
    acc[1] = _mm512_add_ps(acc[1], acc[3]);
    acc[0] = _mm512_add_ps(acc[0], acc[1]);
    return reduce_add_ggml(acc[0]);
}

PL_AVX512 float pl_dot_f16_avx512(const uint16_t *x, const uint16_t *y, int n) {
    const int np = n & ~63;
#define LX(k) LOAD_F16(x, k)
#define LY(k) LOAD_F16(y, k)
    DOT_F16_STEPS(LX, LY, np)
#undef LX
#undef LY
    double sum = (double)reduce4(acc);
    for (int i = np; i < n; i++) sum += (double)(h2f_scalar(x[i]) * h2f_scalar(y[i]));
    return (float)sum;
}

// Sixteen halves from p + k, the ones at or past `n` read as zero (never touched in memory).
PL_AVX512 static inline __m512 load_f16_upto(const uint16_t *p, int k, int n) {
    const int left = n - k;
    if (left >= 16) return LOAD_F16(p, k);
    const __mmask16 m = left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p + k));
}

// The dot over n rounded up to 64, the missing elements zero: what ggml_vec_dot_f16 gives on
// llama.cpp's zero-padded n_kv (a multiple of 256), where the padding adds exact zeros.
PL_AVX512 static inline float dot_f16_padded(const uint16_t *x, const uint16_t *y, int n) {
#define LX(k) load_f16_upto(x, k, n)
#define LY(k) load_f16_upto(y, k, n)
    DOT_F16_STEPS(LX, LY, n)
#undef LX
#undef LY
    return (float)(double)reduce4(acc);
}

PL_AVX512 void pl_attention_head_avx512(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                                        int value_stride, int first, int n_kv, int d, float scale, float *out,
                                        float *scratch) {
    const int padded = (n_kv + 31) / 32 * 32;
    float *scores = scratch, *probs = scratch + padded;
    uint16_t *q16 = (uint16_t *)(scratch + 2 * padded);
    for (int i = 0; i < d; i++) q16[i] = f2h_scalar(q[i]);
    float max = -INFINITY;
    for (int t = 0; t < first; t++) scores[t] = -INFINITY;
    for (int t = first; t < n_kv; t++) {
        scores[t] = pl_dot_f16_avx512(keys + (size_t)t * key_stride, q16, d) * scale;
        if (scores[t] > max) max = scores[t];
    }
    for (int t = n_kv; t < padded; t++) scores[t] = -INFINITY;
    const double sum = pl_softmax_exp_avx512(scores, probs, max, padded);
    const float inv = (float)(1.0 / sum);
    uint16_t *p16 = (uint16_t *)scores;
    for (int t = 0; t < padded; t++) p16[t] = f2h_scalar(probs[t] * inv);
    for (int i = 0; i < d; i++) out[i] = dot_f16_padded(values_t + (size_t)i * value_stride, p16, padded);
}
