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
#include <stdlib.h>
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

// reduce_add_ggml of sixteen vectors at once, out[k] = reduce_add_ggml(x[k]) bit for bit: the
// tree adds the same pairs at each level (lanes i and i+8, then i and i+4, i and i+2, i and
// i+1; IEEE addition is commutative), four vectors' worth per instruction instead of one.
PL_AVX512 static inline __m512 reduce16_ggml(const __m512 x[16]) {
    __m512 y[8], z[4], w[2];
    for (int p = 0; p < 8; p++)  // 256-bit halves: y[p] = key 2p's t3 | key 2p+1's t3
        y[p] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * p], x[2 * p + 1], 0x44), _mm512_shuffle_f32x4(x[2 * p], x[2 * p + 1], 0xEE));
    for (int m = 0; m < 4; m++)  // 128-bit lane L of z[m]: key 4m + L's t6
        z[m] = _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * m], y[2 * m + 1], 0x88), _mm512_shuffle_f32x4(y[2 * m], y[2 * m + 1], 0xDD));
    for (int n = 0; n < 2; n++)  // lane L of w[n]: t8 of keys 8n + L, then 8n + 4 + L
        w[n] = _mm512_add_ps(_mm512_shuffle_ps(z[2 * n], z[2 * n + 1], 0x44), _mm512_shuffle_ps(z[2 * n], z[2 * n + 1], 0xEE));
    // lane L: keys L, 4 + L, 8 + L, 12 + L; then back into key order.
    const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x88), _mm512_shuffle_ps(w[0], w[1], 0xDD));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
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

// One key's dots with G queries (f32 copies of the f16 queries, d apart), each up to reduce4's
// last step: its four accumulators combined ((a0 + a2) + (a1 + a3)) into one vector, written to
// out[g * out_stride].
PL_AVX512 __attribute__((always_inline)) static inline void key_dots(const uint16_t *key, const float *qf, const int G, int d,
                                                                      __m512 *out, int out_stride) {
    __m512 acc[4][4];
    for (int g = 0; g < G; g++)
        for (int j = 0; j < 4; j++) acc[g][j] = _mm512_setzero_ps();
    for (int i = 0; i < d; i += 64)
        for (int j = 0; j < 4; j++) {
            const __m512 k = LOAD_F16(key, i + 16 * j);
            for (int g = 0; g < G; g++) acc[g][j] = _mm512_fmadd_ps(k, _mm512_loadu_ps(qf + g * d + i + 16 * j), acc[g][j]);
        }
    for (int g = 0; g < G; g++)
        out[g * out_stride] = _mm512_add_ps(_mm512_add_ps(acc[g][0], acc[g][2]), _mm512_add_ps(acc[g][1], acc[g][3]));
}

// pl_attention_head_avx512 for up to four query heads that share one KV head (grouped-query
// attention), each head's result bit for bit the single-head kernel's: the same four 16-lane
// accumulators per head, in the same order, over the same values. What is shared is the
// memory traffic and the f16 conversion: each key and value chunk is loaded and converted once
// for all heads, and each head's f16 query and f16 probabilities are converted to floats once
// (exactly) instead of once per key or value row. G is a constant at every call (always
// inlined), so the G x 4 accumulators stay in registers. d: a multiple of 64.
// scratch: G * (2 * padded64(n_kv) + d) floats.
PL_AVX512 __attribute__((always_inline)) static inline void attention_heads(
    const float *q, const int G, const uint16_t *keys, int key_stride, const uint16_t *values_t, int value_stride,
    int first, int n_kv, int d, float scale, float *out, float *scratch) {
    const int padded = (n_kv + 31) / 32 * 32, wide = (n_kv + 63) / 64 * 64;
    float *qf = scratch, *scores = qf + G * d, *probs = scores + G * wide;
    for (int g = 0; g < G; g++)
        for (int i = 0; i < d; i++) qf[g * d + i] = h2f_scalar(f2h_scalar(q[g * d + i]));
    float max[4];
    for (int g = 0; g < G; g++) {
        max[g] = -INFINITY;
        for (int t = 0; t < first; t++) scores[g * wide + t] = -INFINITY;
    }
    // Sixteen keys at a time: each key's four accumulators combined as reduce4 does, kept, then
    // reduced together (reduce16_ggml); the last n % 16 keys one by one.
    __m512 part[4][16];
    int t = first;
    for (; t + 16 <= n_kv; t += 16) {
        for (int kk = 0; kk < 16; kk++) key_dots(keys + (size_t)(t + kk) * key_stride, qf, G, d, &part[0][kk], 16);
        for (int g = 0; g < G; g++) {
            const __m512 s = _mm512_mul_ps(reduce16_ggml(part[g]), _mm512_set1_ps(scale));
            _mm512_storeu_ps(scores + g * wide + t, s);
            for (int kk = 0; kk < 16; kk++)
                if (scores[g * wide + t + kk] > max[g]) max[g] = scores[g * wide + t + kk];
        }
    }
    for (; t < n_kv; t++) {
        __m512 one[4];
        key_dots(keys + (size_t)t * key_stride, qf, G, d, one, 1);
        for (int g = 0; g < G; g++) {
            const float s = (float)(double)reduce_add_ggml(one[g]) * scale;
            scores[g * wide + t] = s;
            if (s > max[g]) max[g] = s;
        }
    }
    for (int g = 0; g < G; g++) {
        float *sc = scores + g * wide, *pr = probs + g * wide;
        for (int t = n_kv; t < padded; t++) sc[t] = -INFINITY;
        const double sum = pl_softmax_exp_avx512(sc, pr, max[g], padded);
        const float inv = (float)(1.0 / sum);
        // The f16 probabilities as floats (vcvtps2ph rounds to nearest even, as the scalar
        // conversion does), zero from n_kv on (the padding's exact zeros).
        const __m512 vinv = _mm512_set1_ps(inv);
        int t = 0;
        for (; t + 16 <= n_kv; t += 16)
            _mm512_storeu_ps(pr + t, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_mul_ps(_mm512_loadu_ps(pr + t), vinv),
                                                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
        for (; t < n_kv; t++) pr[t] = h2f_scalar(f2h_scalar(pr[t] * inv));
        for (; t < wide; t++) pr[t] = 0;
    }
    // Sixteen value rows (output dimensions) at a time, reduced together as the keys above.
    for (int i0 = 0; i0 < d; i0 += 16) {
        for (int ii = 0; ii < 16; ii++) {
            const uint16_t *row = values_t + (size_t)(i0 + ii) * value_stride;
            __m512 acc[4][4];
            for (int g = 0; g < G; g++)
                for (int j = 0; j < 4; j++) acc[g][j] = _mm512_setzero_ps();
            for (int k0 = 0; k0 < wide; k0 += 64)
                for (int j = 0; j < 4; j++) {
                    const __m512 v = load_f16_upto(row, k0 + 16 * j, padded);
                    for (int g = 0; g < G; g++)
                        acc[g][j] = _mm512_fmadd_ps(v, _mm512_loadu_ps(probs + g * wide + k0 + 16 * j), acc[g][j]);
                }
            for (int g = 0; g < G; g++)
                part[g][ii] = _mm512_add_ps(_mm512_add_ps(acc[g][0], acc[g][2]), _mm512_add_ps(acc[g][1], acc[g][3]));
        }
        for (int g = 0; g < G; g++) _mm512_storeu_ps(out + g * d + i0, reduce16_ggml(part[g]));
    }
}

// Any group size, four heads at a time.
PL_AVX512 void pl_attention_group_avx512(const float *q, int group, const uint16_t *keys, int key_stride,
                                         const uint16_t *values_t, int value_stride, int first, int n_kv, int d,
                                         float scale, float *out, float *scratch) {
    for (int g0 = 0; g0 < group; g0 += 4) {
        const float *qg = q + (size_t)g0 * d;
        float *og = out + (size_t)g0 * d;
        switch (group - g0 < 4 ? group - g0 : 4) {
        case 1: attention_heads(qg, 1, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, og, scratch); break;
        case 2: attention_heads(qg, 2, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, og, scratch); break;
        case 3: attention_heads(qg, 3, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, og, scratch); break;
        default: attention_heads(qg, 4, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, og, scratch); break;
        }
    }
}

// ---- Q4_1 and Q8_0 eight-row kernels with VNNI ----
// The repacked x8 layout of quant_x8.c (each row's own 8-lane accumulator, updated per block by
// ggml's AVX2 steps: scale product, fma, hsum_float_8 at the end) with the integer part from
// vpdpbusd: one instruction for the u8 x s8 products summed by four, where AVX2 takes maddubs
// (pairs to 16 bits) and madd (pairs to 32). The integers are equal (no Q4_1 or Q8_0 pair sum
// reaches 16-bit saturation: at most 2 x 15 x 128 and 2 x 128 x 127), so every output is the
// AVX2 kernel's bit for bit: what llama.cpp's native build computes too, whose
// mul_sum_us8_pairs_float takes _mm256_dpbusd_epi32 under AVX512VNNI+VL.
#define PL_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

enum { X8_PREFETCH = 2048 };

PL_VNNI static inline __m256i q4_nibbles(const uint8_t *q) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)q);
    return _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(bytes), _mm_srli_epi16(bytes, 4), 1),
                            _mm256_set1_epi8(0x0F));
}

// One x8 group against one activation column (decode). `ad`/`as`: the column's block scales
// (and Q8_1 sums) as floats.
PL_VNNI void pl_x8_group_vnni(int type, const uint8_t *w, const uint8_t *a, const float *ad, const float *as, int nb,
                                  float *out) {
    const int bb = type == 3 ? 160 : 272, ab = type == 3 ? 36 : 34;
    __m256 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
    __m256 mins = _mm256_setzero_ps();
    float scales[8] __attribute__((aligned(32)));
    for (int b = 0; b < nb; b++, w += bb, a += ab) {
        for (int p = 0; p < bb; p += 64) _mm_prefetch((const char *)w + X8_PREFETCH + p, _MM_HINT_T0);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w));
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_broadcast_ss(ad + b)));
        if (type == 3) {
            mins = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 16))), _mm256_broadcast_ss(as + b), mins);
            const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 4));
            for (int r = 0; r < 8; r++) {
                const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q4_nibbles(w + 32 + 16 * r), y);
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(scales + r), _mm256_cvtepi32_ps(s), acc[r]);
            }
        } else {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 2));
            for (int r = 0; r < 8; r++) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * r));
                const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(scales + r), _mm256_cvtepi32_ps(s), acc[r]);
            }
        }
    }
    float m8[8];
    _mm256_storeu_ps(m8, mins);
    for (int r = 0; r < 8; r++) out[r] = hsum8(acc[r]) + (type == 3 ? m8[r] : 0.0f);
}

// One x8 group against four activation columns (prompt chunks): as quant_x8.c's x8_cols4.
PL_VNNI void pl_x8_cols4_vnni(int type, const uint8_t *w, const uint8_t *const a[4], const float *const ad[4],
                                  const float *const as[4], int nb, float *table, float out[4][8]) {
    const int bb = type == 3 ? 160 : 272, ab = type == 3 ? 36 : 34, qoff = type == 3 ? 32 : 16;
    __m256 mins[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = w + (size_t)b * bb;
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb));
        for (int c = 0; c < 4; c++) _mm256_store_ps(table + (b * 4 + c) * 8, _mm256_mul_ps(d, _mm256_broadcast_ss(ad[c] + b)));
        if (type == 3) {
            const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wb + 16)));
            for (int c = 0; c < 4; c++) mins[c] = _mm256_fmadd_ps(m, _mm256_broadcast_ss(as[c] + b), mins[c]);
        }
    }
    const __m256i zero = _mm256_setzero_si256();
    for (int r = 0; r < 8; r++) {
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const uint8_t *q = w + (size_t)b * bb + qoff;
            const float *t = table + b * 32 + r;
            const size_t o = (size_t)b * ab + (type == 3 ? 4 : 2);
            if (type == 3) {
                const __m256i x = q4_nibbles(q + 16 * r);
#define COL(acc, c) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(t + 8 * c), _mm256_cvtepi32_ps( \
                    _mm256_dpbusd_epi32(zero, x, _mm256_loadu_si256((const __m256i *)(a[c] + o)))), acc);
                COL(acc0, 0) COL(acc1, 1) COL(acc2, 2) COL(acc3, 3)
#undef COL
            } else {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * r));
                const __m256i ax = _mm256_sign_epi8(x, x);
#define COL(acc, c) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(t + 8 * c), _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(zero, \
                    ax, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(a[c] + o)), x))), acc);
                COL(acc0, 0) COL(acc1, 1) COL(acc2, 2) COL(acc3, 3)
#undef COL
            }
        }
        out[0][r] = hsum8(acc0);
        out[1][r] = hsum8(acc1);
        out[2][r] = hsum8(acc2);
        out[3][r] = hsum8(acc3);
    }
    if (type == 3) {
        for (int c = 0; c < 4; c++) {
            float m8[8];
            _mm256_storeu_ps(m8, mins[c]);
            for (int r = 0; r < 8; r++) out[c][r] += m8[r];
        }
    }
}
