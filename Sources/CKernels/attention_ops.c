// Attention for the speech and vision encoders, one head and a block of query rows at a time:
// out = softmax(scale · Q Kᵀ) V without going through BLAS, so the (head, block) tasks of a
// layer can run on the worker pool side by side, each on one thread, and the scores of a
// block stay in cache between the two products. The keys come transposed and padded
// (pl_pack_keys_t), so the score product reads contiguous vectors; the softmax's sum divides
// the output rows at the end instead of the probabilities. The portable twin is plain C in
// the same order of operations, with libm's expf; each is tested against a reference in
// Tests/PipelineTensorTests/EncoderOpsTests.swift.
#include "ckernels.h"
#include "encoder_kernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

void pl_pack_keys_t(const float *k, int ldk, int keys, int d, float *kt, int ldkt) {
    // Blocks of 8 keys, so each key row is read once and written in 8 short runs.
    for (int j0 = 0; j0 < keys; j0 += 8) {
        const int n = keys - j0 < 8 ? keys - j0 : 8;
        for (int c = 0; c < d; c++) {
            float *dst = kt + (long)c * ldkt + j0;
            for (int j = 0; j < n; j++) dst[j] = k[(long)(j0 + j) * ldk + c];
        }
    }
    for (int c = 0; c < d; c++)
        for (int j = keys; j < ldkt; j++) kt[(long)c * ldkt + j] = 0.0f;
}

void pl_pack_values(const float *v, int ldv, int keys, int d, float *vp) {
    for (int c0 = 0; c0 < d; c0 += 16) {
        float *panel = vp + (long)c0 * keys;
        const int n = d - c0 < 16 ? d - c0 : 16;
        for (int j = 0; j < keys; j++) {
            for (int i = 0; i < n; i++) panel[j * 16 + i] = v[(long)j * ldv + c0 + i];
            for (int i = n; i < 16; i++) panel[j * 16 + i] = 0.0f;
        }
    }
}

// ---- portable ----

static void attention_rows_portable(const float *q, int ldq, const float *kt, int ldkt, const float *vp,
                                    int rows, int keys, int d, float scale, float *out, int ldo, float *s) {
    for (int r = 0; r < rows; r++) {
        float *srow = s;
        for (int j = 0; j < keys; j++) srow[j] = 0.0f;
        for (int c = 0; c < d; c++) {
            const float qc = q[(long)r * ldq + c] * scale;
            const float *krow = kt + (long)c * ldkt;
            for (int j = 0; j < keys; j++) srow[j] += qc * krow[j];
        }
        float m = srow[0];
        for (int j = 1; j < keys; j++) m = srow[j] > m ? srow[j] : m;
        float sum = 0.0f;
        for (int j = 0; j < keys; j++) {
            srow[j] = expf(srow[j] - m);
            sum += srow[j];
        }
        float *orow = out + (long)r * ldo;
        for (int c = 0; c < d; c++) orow[c] = 0.0f;
        for (int j = 0; j < keys; j++) {
            const float p = srow[j];
            for (int c = 0; c < d; c++) orow[c] += p * vp[(long)(c / 16 * 16) * keys + j * 16 + c % 16];
        }
        const float inv = 1.0f / sum;
        for (int c = 0; c < d; c++) orow[c] *= inv;
    }
}

static void attention_one_portable(const float *q, const float *k, int ldk, const float *v, int ldv, int keys, int d,
                                   float scale, float *out, float *s) {
    float m = -INFINITY;
    for (int j = 0; j < keys; j++) {
        float dot = 0.0f;
        for (int c = 0; c < d; c++) dot += q[c] * k[(long)j * ldk + c];
        s[j] = dot * scale;
        m = s[j] > m ? s[j] : m;
    }
    float sum = 0.0f;
    for (int j = 0; j < keys; j++) {
        s[j] = expf(s[j] - m);
        sum += s[j];
    }
    for (int c = 0; c < d; c++) out[c] = 0.0f;
    for (int j = 0; j < keys; j++)
        for (int c = 0; c < d; c++) out[c] += s[j] * v[(long)j * ldv + c];
    const float inv = 1.0f / sum;
    for (int c = 0; c < d; c++) out[c] *= inv;
}

// ---- AVX2 ----

// exp(x) for 8 lanes, x <= 0 (scores minus their row maximum): x = n·ln2 + r with n rounded
// and |r| <= ln2/2, e^r by a degree-6 polynomial (Cephes' expf coefficients, about 1 ulp),
// 2^n built in the exponent bits. Below -87.3 the result is 0.
AVX2 static inline __m256 exp_nonpositive(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n·ln2 in two steps (ln2 split into a short high part and the rest).
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

AVX2 static inline float hsum(__m256 v) {
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}

AVX2 static inline float hmax(__m256 v) {
    __m128 t = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    t = _mm_max_ps(t, _mm_movehl_ps(t, t));
    t = _mm_max_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}

// Scores of R query rows (scaled copies in qs, d apart) against 16 keys of kt: s[r][j0..j0+16].
AVX2 __attribute__((always_inline)) static inline void scores_tile(const float *qs, const float *kt, int ldkt, int d,
                                                                 int j0, float *s, int lds, const int R) {
    __m256 acc[4][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int c = 0; c < d; c++) {
        const __m256 k0 = _mm256_loadu_ps(kt + (long)c * ldkt + j0), k1 = _mm256_loadu_ps(kt + (long)c * ldkt + j0 + 8);
        for (int r = 0; r < R; r++) {
            const __m256 b = _mm256_broadcast_ss(qs + r * d + c);
            acc[r][0] = _mm256_fmadd_ps(b, k0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(b, k1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(s + (long)r * lds + j0, acc[r][0]);
        _mm256_storeu_ps(s + (long)r * lds + j0 + 8, acc[r][1]);
    }
}

// out[r][c0..c0+16] = Σ_j p[r][j] · v[j][c0..c0+16] for R rows, from the packed panel of c0.
AVX2 __attribute__((always_inline)) static inline void values_tile(const float *p, int ldp, const float *panel,
                                                                 int keys, __m256 out[4][2], const int R) {
    for (int r = 0; r < R; r++) out[r][0] = out[r][1] = _mm256_setzero_ps();
    for (int j = 0; j < keys; j++) {
        const float *vrow = panel + (long)j * 16;
        const __m256 v0 = _mm256_loadu_ps(vrow), v1 = _mm256_loadu_ps(vrow + 8);
        for (int r = 0; r < R; r++) {
            const __m256 b = _mm256_broadcast_ss(p + (long)r * ldp + j);
            out[r][0] = _mm256_fmadd_ps(b, v0, out[r][0]);
            out[r][1] = _mm256_fmadd_ps(b, v1, out[r][1]);
        }
    }
}

// Rows per block of attention_block: their scores (rows x ldkt floats) stay in L2.
#define BLOCK_ROWS 16

// n (1…BLOCK_ROWS) query rows: scaled copies, scores panel by panel (a 16-key panel of kt
// stays in L1 for all row groups), softmax (unnormalized, sums kept), values panel by panel
// (a 16-column panel of v stays in L2 for all row groups), division by the sums.
AVX2 static void attention_block(const float *q, int ldq, const float *kt, int ldkt, const float *vp, int n,
                                 int keys, int d, float scale, float *out, int ldo, float *s) {
    float qs[BLOCK_ROWS * 128];
    for (int r = 0; r < n; r++)
        for (int c = 0; c < d; c++) qs[r * d + c] = q[(long)r * ldq + c] * scale;
    const int groups = n / 4, left = n % 4;
    for (int j0 = 0; j0 < ldkt; j0 += 16) {
        for (int g = 0; g < groups; g++) scores_tile(qs + g * 4 * d, kt, ldkt, d, j0, s + (long)g * 4 * ldkt, ldkt, 4);
        const float *ql = qs + groups * 4 * d;
        float *sl = s + (long)groups * 4 * ldkt;
        if (left == 3) scores_tile(ql, kt, ldkt, d, j0, sl, ldkt, 3);
        else if (left == 2) scores_tile(ql, kt, ldkt, d, j0, sl, ldkt, 2);
        else if (left == 1) scores_tile(ql, kt, ldkt, d, j0, sl, ldkt, 1);
    }
    float inv[BLOCK_ROWS];
    const int body = keys / 8 * 8;
    for (int r = 0; r < n; r++) {
        float *row = s + (long)r * ldkt;
        __m256 mv = _mm256_set1_ps(-INFINITY);
        for (int j = 0; j < body; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(row + j));
        float m = hmax(mv);
        for (int j = body; j < keys; j++) m = row[j] > m ? row[j] : m;
        const __m256 mb = _mm256_set1_ps(m);
        __m256 sv = _mm256_setzero_ps();
        for (int j = 0; j < body; j += 8) {
            const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(row + j), mb));
            _mm256_storeu_ps(row + j, e);
            sv = _mm256_add_ps(sv, e);
        }
        float sum = hsum(sv);
        if (body < keys) {
            // The last partial vector through a copy; lanes past `keys` are not used.
            float tail[8] = {0};
            for (int j = body; j < keys; j++) tail[j - body] = row[j];
            _mm256_storeu_ps(tail, exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(tail), mb)));
            for (int j = body; j < keys; j++) {
                row[j] = tail[j - body];
                sum += tail[j - body];
            }
        }
        inv[r] = 1.0f / sum;
    }
    for (int c0 = 0; c0 < d; c0 += 16) {
        for (int r = 0; r < n; r += 4) {
            __m256 acc[4][2];
            const int R = n - r < 4 ? n - r : 4;
            const float *p = s + (long)r * ldkt;
            const float *panel = vp + (long)c0 * keys;
            if (R == 4) values_tile(p, ldkt, panel, keys, acc, 4);
            else if (R == 3) values_tile(p, ldkt, panel, keys, acc, 3);
            else if (R == 2) values_tile(p, ldkt, panel, keys, acc, 2);
            else values_tile(p, ldkt, panel, keys, acc, 1);
            for (int i = 0; i < R; i++) {
                const __m256 iv = _mm256_set1_ps(inv[r + i]);
                _mm256_storeu_ps(out + (long)(r + i) * ldo + c0, _mm256_mul_ps(acc[i][0], iv));
                _mm256_storeu_ps(out + (long)(r + i) * ldo + c0 + 8, _mm256_mul_ps(acc[i][1], iv));
            }
        }
    }
}

AVX2 static void attention_rows_avx2(const float *q, int ldq, const float *kt, int ldkt, const float *vp,
                                     int rows, int keys, int d, float scale, float *out, int ldo, float *s) {
    for (int r = 0; r < rows; r += BLOCK_ROWS) {
        const int n = rows - r < BLOCK_ROWS ? rows - r : BLOCK_ROWS;
        attention_block(q + (long)r * ldq, ldq, kt, ldkt, vp, n, keys, d, scale, out + (long)r * ldo, ldo, s);
    }
}

// One query over key and value rows in place (a decoder's self-attention cache): dot
// products of d floats, softmax, and the weighted sum of value rows.
AVX2 static void attention_one_avx2(const float *q, const float *k, int ldk, const float *v, int ldv, int keys, int d,
                                    float scale, float *out, float *s) {
    float m = -INFINITY;
    for (int j = 0; j < keys; j++) {
        const float *kr = k + (long)j * ldk;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int c = 0; c < d; c += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + c), _mm256_loadu_ps(kr + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + c + 8), _mm256_loadu_ps(kr + c + 8), a1);
        }
        s[j] = hsum(_mm256_add_ps(a0, a1)) * scale;
        m = s[j] > m ? s[j] : m;
    }
    float sum = 0.0f;
    for (int j = 0; j < keys; j++) {
        s[j] = expf(s[j] - m);
        sum += s[j];
    }
    const float inv = 1.0f / sum;
    for (int c = 0; c < d; c += 16) {
        __m256 o0 = _mm256_setzero_ps(), o1 = _mm256_setzero_ps();
        for (int j = 0; j < keys; j++) {
            const __m256 p = _mm256_set1_ps(s[j]);
            o0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + (long)j * ldv + c), o0);
            o1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + (long)j * ldv + c + 8), o1);
        }
        _mm256_storeu_ps(out + c, _mm256_mul_ps(o0, _mm256_set1_ps(inv)));
        _mm256_storeu_ps(out + c + 8, _mm256_mul_ps(o1, _mm256_set1_ps(inv)));
    }
}

void pl_attention_one(const float *q, const float *k, int ldk, const float *v, int ldv, int keys, int d, float scale,
                      float *out, float *scratch) {
    if (pl_kernels_portable() || d % 16 != 0) attention_one_portable(q, k, ldk, v, ldv, keys, d, scale, out, scratch);
    else attention_one_avx2(q, k, ldk, v, ldv, keys, d, scale, out, scratch);
}

void pl_attention_rows(const float *q, int ldq, const float *kt, int ldkt, const float *vp, int rows, int keys,
                       int d, float scale, float *out, int ldo, float *scratch) {
    if (pl_kernels_portable() || d % 16 != 0 || d > 128 || ldkt % 16 != 0)
        attention_rows_portable(q, ldq, kt, ldkt, vp, rows, keys, d, scale, out, ldo, scratch);
    else
        attention_rows_avx2(q, ldq, kt, ldkt, vp, rows, keys, d, scale, out, ldo, scratch);
}
