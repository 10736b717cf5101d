// Element-wise and attention kernels of the LLM decoder, in the same operation order and with
// the same exp approximation as ggml's x86 CPU path, so greedy decoding can match llama.cpp
// token for token. Each has a portable twin (plain C, libm expf) for CPUs without AVX2.
#include "ckernels.h"
#include "simd.h"
#include "llm_avx512.h"
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <immintrin.h>

// ---- quantization ----

static void quantize_portable(const float *x, uint8_t *out, int n, int with_sum) {
    const int stride = with_sum ? 36 : 34, q0 = with_sum ? 4 : 2;
    for (int b = 0; b < n / 32; b++, x += 32, out += stride) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f, id = amax != 0 ? 127.f / amax : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)nearbyintf(x[j] * id);
            out[q0 + j] = (uint8_t)(int8_t)q;
            sum += q;
        }
        const uint16_t hd = f2h_scalar(d);
        memcpy(out, &hd, 2);
        if (with_sum) {
            const uint16_t hs = f2h_scalar(d * (float)sum);
            memcpy(out + 2, &hs, 2);
        }
    }
}

AVX2 static void quantize_avx2(const float *x, uint8_t *out, int n, int with_sum) {
    const int stride = with_sum ? 36 : 34, q0 = with_sum ? 4 : 2;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / 32; b++, x += 32, out += stride) {
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.f, id = amax != 0 ? 127.f / amax : 0;
        const __m256 mul = _mm256_set1_ps(id);
        __m256i s = _mm256_setzero_si256();
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            s = _mm256_add_epi32(s, q[k]);
        }
        // Pack 4 x 8 int32 to 32 int8 in order.
        __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(out + q0), p);
        const uint16_t hd = _cvtss_sh(d, 0);
        memcpy(out, &hd, 2);
        if (with_sum) {
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
            const uint16_t hs = _cvtss_sh(d * (float)_mm_cvtsi128_si32(s4), 0);
            memcpy(out + 2, &hs, 2);
        }
    }
}


void pl_quantize_q8_0(const float *x, void *out, int n) {
    if (pl_kernels_portable()) quantize_portable(x, out, n, 0); else quantize_avx2(x, out, n, 0);
}

void pl_quantize_q8_1(const float *x, void *out, int n) {
    if (pl_kernels_portable()) quantize_portable(x, out, n, 1); else quantize_avx2(x, out, n, 1);
}

// ---- exp ----

// exp(x) for 8 lanes: x = n*ln2 + b with n rounded, 2^n built in the exponent bits and e^b
// from a degree-5 polynomial; lanes with |n| > 126 take the scaled path that handles
// overflow to inf and underflow to 0. The constants are those of ggml_v_expf (ARM's
// optimized-routines expf), so results are bit-identical to llama.cpp's.
AVX2 static inline __m256 v_expf(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256 absn = _mm256_andnot_ps(_mm256_set1_ps(-0.f), n);
    const __m256 c = _mm256_cmp_ps(absn, _mm256_set1_ps(126), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 poly = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    if (!_mm256_movemask_ps(c)) return _mm256_fmadd_ps(poly, k, k);
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 dd = _mm256_cmp_ps(absn, _mm256_set1_ps(192), _CMP_GT_OQ);
    const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, poly, s2), s1);
    const __m256 normal = _mm256_fmadd_ps(k, poly, k);
    const __m256 mid = _mm256_or_ps(_mm256_and_ps(c, scaled), _mm256_andnot_ps(c, normal));
    return _mm256_or_ps(_mm256_and_ps(dd, _mm256_mul_ps(s1, s1)), _mm256_andnot_ps(dd, mid));
}

AVX2 static void swiglu_avx2(const float *gate, const float *up, float *y, int n) {
    int i = 0;
    const __m256 one = _mm256_set1_ps(1);
    for (; i + 7 < n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 e = v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(one, e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) y[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void pl_swiglu(const float *gate, const float *up, float *y, int n) {
    if (pl_use_avx512()) { pl_swiglu_avx512(gate, up, y, n); return; }
    if (!pl_kernels_portable()) { swiglu_avx2(gate, up, y, n); return; }
    for (int i = 0; i < n; i++) y[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

AVX2 static double softmax_exp_avx2(const float *x, float *y, float max, int n) {
    int i = 0;
    double sum = 0;
    for (; i + 7 < n; i += 8) {
        const __m256 v = v_expf(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(max)));
        _mm256_storeu_ps(y + i, v);
        sum += (double)hsum8(v);
    }
    for (; i < n; i++) {
        const float v = expf(x[i] - max);
        sum += (double)v;
        y[i] = v;
    }
    return sum;
}

double pl_softmax_exp(const float *x, float *y, float max, int n) {
    if (pl_use_avx512()) return pl_softmax_exp_avx512(x, y, max, n);
    if (!pl_kernels_portable()) return softmax_exp_avx2(x, y, max, n);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        y[i] = expf(x[i] - max);
        sum += (double)y[i];
    }
    return sum;
}

// ---- f16 dot ----

AVX2 static inline float dot_f16_avx2(const uint16_t *x, const uint16_t *y, int n) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int i = 0; i < n; i += 32) {
        for (int j = 0; j < 4; j++) {
            const __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8 * j)));
            const __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i + 8 * j)));
            acc[j] = _mm256_fmadd_ps(a, b, acc[j]);
        }
    }
    acc[0] = _mm256_add_ps(acc[0], acc[2]);
    acc[1] = _mm256_add_ps(acc[1], acc[3]);
    acc[0] = _mm256_add_ps(acc[0], acc[1]);
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(acc[0]), _mm256_extractf128_ps(acc[0], 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

static float dot_f16_portable(const uint16_t *x, const uint16_t *y, int n) {
    float acc[32] = {0};
    for (int i = 0; i < n; i += 32)
        for (int l = 0; l < 32; l++) acc[l] = fmaf(h2f_scalar(x[i + l]), h2f_scalar(y[i + l]), acc[l]);
    float r[8];
    for (int l = 0; l < 8; l++) r[l] = ((acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]));
    const float t[4] = {r[0] + r[4], r[1] + r[5], r[2] + r[6], r[3] + r[7]};
    return (t[0] + t[1]) + (t[2] + t[3]);
}

float pl_dot_f16(const uint16_t *x, const uint16_t *y, int n) {
    if (pl_use_avx512()) return pl_dot_f16_avx512(x, y, n);
    return pl_kernels_portable() ? dot_f16_portable(x, y, n) : dot_f16_avx2(x, y, n);
}

// ---- attention ----

// The head's work with the dot product chosen once; `dot` is inlined in the AVX2 twin.
#define ATTENTION_HEAD_BODY(DOT, SOFTMAX)                                                              \
    const int padded = (n_kv + 31) / 32 * 32;                                                          \
    float *scores = scratch, *probs = scratch + padded;                                                \
    uint16_t *q16 = (uint16_t *)(scratch + 2 * padded);                                                \
    for (int i = 0; i < d; i++) q16[i] = f2h_scalar(q[i]);                                             \
    float max = -INFINITY;                                                                             \
    for (int t = 0; t < first; t++) scores[t] = -INFINITY;                                             \
    for (int t = first; t < n_kv; t++) {                                                               \
        scores[t] = DOT(keys + (size_t)t * key_stride, q16, d) * scale;                                \
        if (scores[t] > max) max = scores[t];                                                          \
    }                                                                                                  \
    for (int t = n_kv; t < padded; t++) scores[t] = -INFINITY;                                         \
    const double sum = SOFTMAX(scores, probs, max, padded);                                            \
    const float inv = (float)(1.0 / sum);                                                              \
    uint16_t *p16 = (uint16_t *)scores;                                                                \
    for (int t = 0; t < padded; t++) p16[t] = f2h_scalar(probs[t] * inv);                              \
    for (int i = 0; i < d; i++) out[i] = DOT(values_t + (size_t)i * value_stride, p16, padded);

AVX2 static void attention_head_avx2(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                                     int value_stride, int first, int n_kv, int d, float scale, float *out,
                                     float *scratch) {
    ATTENTION_HEAD_BODY(dot_f16_avx2, softmax_exp_avx2)
}

static void attention_head_portable(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                                    int value_stride, int first, int n_kv, int d, float scale, float *out,
                                    float *scratch) {
    ATTENTION_HEAD_BODY(dot_f16_portable, pl_softmax_exp)
}

void pl_attention_head_window(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                              int value_stride, int first, int n_kv, int d, float scale, float *out, float *scratch) {
    if (pl_use_avx512())
        pl_attention_head_avx512(q, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, out, scratch);
    else if (pl_kernels_portable())
        attention_head_portable(q, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, out, scratch);
    else
        attention_head_avx2(q, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, out, scratch);
}

void pl_attention_group(const float *q, int group, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                        int value_stride, int first, int n_kv, int d, float scale, float *out, float *scratch) {
    if (pl_use_avx512() && d % 64 == 0 && group >= 1) {
        pl_attention_group_avx512(q, group, keys, key_stride, values_t, value_stride, first, n_kv, d, scale, out, scratch);
        return;
    }
    for (int g = 0; g < group; g++)
        pl_attention_head_window(q + (size_t)g * d, keys, key_stride, values_t, value_stride, first, n_kv, d, scale,
                                 out + (size_t)g * d, scratch);
}

void pl_attention_head(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                       int value_stride, int n_kv, int d, float scale, float *out, float *scratch) {
    pl_attention_head_window(q, keys, key_stride, values_t, value_stride, 0, n_kv, d, scale, out, scratch);
}

// ---- GELU (tanh) gate ----

// ggml's f16 GELU table (ggml_cpu_init): entry h = f16(gelu(float(h))) with gelu written as
// GCC compiles ggml_gelu_f32 there: (x*0.5) * (1 + tanhf((c*x) * fma(a*x, x, 1))).
static uint16_t gelu_table[65536];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void init_gelu_table(void) {
    const float a = 0.044715f, c = 0.79788456080286535587989211986876f;
    for (int i = 0; i < 65536; i++) {
        const float x = h2f_scalar((uint16_t)i);
        const float inner = (c * x) * fmaf(a * x, x, 1.0f);
        gelu_table[i] = f2h_scalar((x * 0.5f) * (1.0f + tanhf(inner)));
    }
}

void pl_gelu_table(uint16_t *out) {
    pthread_once(&gelu_once, init_gelu_table);
    memcpy(out, gelu_table, sizeof gelu_table);
}

// ggml_vec_geglu_f32 with GGML_GELU_FP16: 0 at or below -10, x itself at or above 10, else
// the table entry of f16(x); times up.
AVX2 static void geglu_avx2(const float *gate, const float *up, float *y, int n) {
    int i = 0;
    uint16_t h[8], g[8];
    for (; i + 7 < n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i), u = _mm256_loadu_ps(up + i);
        _mm_storeu_si128((__m128i *)h, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
        for (int j = 0; j < 8; j++) g[j] = gelu_table[h[j]];
        __m256 r = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g)), u);
        r = _mm256_blendv_ps(r, _mm256_mul_ps(x, u), _mm256_cmp_ps(x, _mm256_set1_ps(10.0f), _CMP_GE_OQ));
        r = _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-10.0f), _CMP_LE_OQ));
        _mm256_storeu_ps(y + i, r);
    }
    for (; i < n; i++) {
        const float x = gate[i];
        y[i] = x <= -10.0f ? 0.0f : x >= 10.0f ? x * up[i] : h2f_scalar(gelu_table[f2h_scalar(x)]) * up[i];
    }
}

void pl_geglu(const float *gate, const float *up, float *y, int n) {
    pthread_once(&gelu_once, init_gelu_table);
    if (!pl_kernels_portable()) {
        geglu_avx2(gate, up, y, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        const float x = gate[i];
        if (x <= -10.0f) y[i] = 0.0f;
        else if (x >= 10.0f) y[i] = x * up[i];
        else y[i] = h2f_scalar(gelu_table[f2h_scalar(x)]) * up[i];
    }
}

AVX2 static void f32_to_f16_avx2(const float *x, uint16_t *y, int n, int stride) {
    int i = 0;
    uint16_t h[8];
    for (; i + 7 < n; i += 8) {
        const __m128i v = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        if (stride == 1) {
            _mm_storeu_si128((__m128i *)(y + i), v);
            continue;
        }
        _mm_storeu_si128((__m128i *)h, v);
        for (int j = 0; j < 8; j++) y[(size_t)(i + j) * stride] = h[j];
    }
    for (; i < n; i++) y[(size_t)i * stride] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

/// f32 to f16 (round to nearest even), n values (F16C's vcvtps2ph where the AVX2 kernels run:
/// the same rounding).
void pl_f32_to_f16(const float *x, uint16_t *y, int n, int stride) {
    if (pl_use_avx2()) {
        f32_to_f16_avx2(x, y, n, stride);
        return;
    }
    for (int i = 0; i < n; i++) y[(size_t)i * stride] = f2h_scalar(x[i]);
}

AVX2 static void rope_neox_avx2(float *x, int heads, int half, const float *cs, const float *sn) {
    for (int h = 0; h < heads; h++) {
        float *p = x + (size_t)h * 2 * half;
        int i = 0;
        for (; i + 7 < half; i += 8) {
            const __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_loadu_ps(sn + i);
            const __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + half + i);
            _mm256_storeu_ps(p + i, _mm256_fmadd_ps(a, c, _mm256_xor_ps(_mm256_mul_ps(b, s), _mm256_set1_ps(-0.0f))));
            _mm256_storeu_ps(p + half + i, _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)));
        }
        for (; i < half; i++) {
            const float a = p[i], b = p[half + i];
            p[i] = fmaf(a, cs[i], -(b * sn[i]));
            p[half + i] = fmaf(a, sn[i], b * cs[i]);
        }
    }
}

/// ggml's RoPE rotation of `heads` heads of 2 * half floats in place, written with the fused
/// multiply-adds GCC emits for ggml's C: x0' = fma(x0, cos, -(x1 * sin)),
/// x1' = fma(x0, sin, x1 * cos). Pairs (x[i], x[i + half]) with `neox`, else (x[2i], x[2i + 1]).
void pl_rope(float *x, int heads, int half, const float *cs, const float *sn, int neox) {
    if (neox && pl_use_avx2()) {
        rope_neox_avx2(x, heads, half, cs, sn);
        return;
    }
    const int step = neox ? 1 : 2, partner = neox ? half : 1;
    for (int h = 0; h < heads; h++) {
        float *p = x + (size_t)h * 2 * half;
        for (int i = 0; i < half; i++) {
            const int j = i * step;
            const float a = p[j], b = p[j + partner];
            p[j] = fmaf(a, cs[i], -(b * sn[i]));
            p[j + partner] = fmaf(a, sn[i], b * cs[i]);
        }
    }
}

// k rows (k <= 8, a constant where it is inlined) of ggml's RMSNorm side by side: each row's
// double chain is its own, in element order.
static inline void rms_rows(const float *p, const float *w, float *out, int n, const int k, float eps) {
    double s[8] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            const float v = p[(size_t)j * n + i];
            s[j] += (double)(v * v);
        }
    for (int j = 0; j < k; j++) {
        const float scale = 1.0f / sqrtf((float)(s[j] / n) + eps);
        const float *xr = p + (size_t)j * n;
        float *o = out + (size_t)j * n;
        for (int i = 0; i < n; i++) o[i] = (xr[i] * scale) * w[i];
    }
}

/// ggml's RMSNorm fused with the weight after it, for `rows` rows of n floats: per row the sum
/// of squares accumulated in double one element after another (ggml's order; each square is
/// rounded to float first), scale = 1 / sqrtf(sum / n + eps), out = (x * scale) * w. Eight (then
/// four) rows are summed side by side: each row's chain is still sequential, so every bit is
/// ggml's, but several chains hide the latency of the double adds one chain waits on. `out`
/// may be `x`.
void pl_rms_norm(const float *x, const float *w, float *out, int n, int rows, float eps) {
    int r = 0;
    for (; r + 8 <= rows; r += 8) rms_rows(x + (size_t)r * n, w, out + (size_t)r * n, n, 8, eps);
    for (; r + 4 <= rows; r += 4) rms_rows(x + (size_t)r * n, w, out + (size_t)r * n, n, 4, eps);
    for (; r < rows; r++) rms_rows(x + (size_t)r * n, w, out + (size_t)r * n, n, 1, eps);
}

AVX2 static float max_avx2(const float *x, int n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 7 < n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);  // a NaN lane keeps m
    float lanes[8], best = -INFINITY;
    _mm256_storeu_ps(lanes, m);
    for (int k = 0; k < 8; k++) best = lanes[k] > best ? lanes[k] : best;
    for (; i < n; i++) best = x[i] > best ? x[i] : best;
    return best;
}

/// The index of the first largest of n floats, as the loop `if x[i] > x[best] { best = i }` from
/// best = 0 gives it: NaNs are never chosen (and a NaN at 0 stays chosen, nothing being greater),
/// the earliest of equal values (0 and -0 included) wins. Two passes where the AVX2 kernels run:
/// the largest value by vector max, then the first element equal to it.
int pl_argmax(const float *x, int n) {
    if (n <= 0 || x[0] != x[0]) return 0;
    if (!pl_use_avx2()) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (x[i] > x[best]) best = i;
        return best;
    }
    const float m = max_avx2(x, n);
    if (!(m > x[0])) return 0;
    for (int i = 1; i < n; i++)
        if (x[i] == m) return i;
    return 0;
}
