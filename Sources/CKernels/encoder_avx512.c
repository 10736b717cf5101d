// AVX-512 (F/BW/VL) variants of the image and text encoders' hot kernels: the pointwise
// convolution product (conv_gemm.c), the depthwise convolution (conv_ops.c), and the row
// kernels of the transformer encoders (encoder_ops.c: bias, bias + GELU, LayerNorm, softmax).
// Each function is compiled for AVX-512 alone (the AVX512 attribute below), so the binary runs
// on an AVX2-only CPU; the dispatch lines in those files call these only where
// pl_enc512_active() says so. Each is tested against its portable or AVX2 twin in
// Tests/PipelineTensorTests/Encoder512Tests.swift, on odd sizes and tails.
//
// On Zen 4 a 512-bit instruction runs as two 256-bit halves, so the peak rate of FMAs is that of
// AVX2; what AVX-512 buys here is 32 registers (an 8 x 32 product tile), masked loads and stores
// for the tails (no copies through a temporary), and half the instructions per float.
#include "ckernels.h"
#include "encoder_kernels.h"
#include "simd.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

// ---- the gate ----

int pl_enc512_cpu(void) { return pl_isa_usable(PL_ISA_AVX512); }

int pl_enc512_active(void) { return pl_isa_now() == PL_ISA_AVX512; }

static inline __mmask16 tail_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// ---- pointwise convolution: out = act(W · X + bias (+ skip)) ----

#define PANEL 32

// Columns c0..<c0 + cols (cols <= 32) of x's k rows into a [k][32] panel, zero past cols.
AVX512 static void pack_panel32(const float *x, long ldx, int k, long c0, int cols, float *panel) {
    const __mmask16 m0 = tail_mask(cols), m1 = tail_mask(cols - 16 > 0 ? cols - 16 : 0);
    for (int p = 0; p < k; p++) {
        const float *src = x + (long)p * ldx + c0;
        _mm512_store_ps(panel + (long)p * PANEL, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(panel + (long)p * PANEL + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
}

// R rows (8 or 4) x 32 columns over the whole depth: w0 holds rows 0-3 packed by
// pl_pack_weights_rows4 ([k][4]), w1 rows 4-7. Then bias (+ skip) (+ ReLU6), stored to `rows`
// rows and `cols` columns of out.
AVX512 __attribute__((always_inline)) static inline void tile_r32(const float *w0, const float *w1, const float *panel,
                                                                 int k, const float *bias, const float *skip,
                                                                 int relu6_on, float *out, long ldc, int rows, int cols,
                                                                 const int R) {
    __m512 acc[8][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        const __m512 x0 = _mm512_load_ps(panel), x1 = _mm512_load_ps(panel + 16);
        for (int r = 0; r < R; r++) {
            const __m512 b = _mm512_set1_ps(r < 4 ? w0[r] : w1[r - 4]);
            acc[r][0] = _mm512_fmadd_ps(b, x0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(b, x1, acc[r][1]);
        }
        panel += PANEL;
        w0 += 4;
        w1 += 4;
    }
    const __mmask16 m0 = tail_mask(cols), m1 = tail_mask(cols - 16 > 0 ? cols - 16 : 0);
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    for (int r = 0; r < R; r++) {
        if (r >= rows) break;
        const __m512 b = _mm512_set1_ps(bias[r]);
        float *dst = out + (long)r * ldc;
        __m512 v0 = _mm512_add_ps(acc[r][0], b), v1 = _mm512_add_ps(acc[r][1], b);
        if (skip) {
            const float *sk = skip + (long)r * ldc;
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, sk));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, sk + 16));
        }
        if (relu6_on) {
            v0 = _mm512_min_ps(_mm512_max_ps(v0, zero), six);
            v1 = _mm512_min_ps(_mm512_max_ps(v1, zero), six);
        }
        _mm512_mask_storeu_ps(dst, m0, v0);
        _mm512_mask_storeu_ps(dst + 16, m1, v1);
    }
}

AVX512 int pl_conv_gemm_avx512(const float *wp, int m, int k, const float *x, long ldx, long n0, long n1,
                               const float *bias, const float *skip, int relu6_on, float *out, long ldc) {
    if (n1 <= n0 || m <= 0 || k <= 0) return 0;
    const int npanels = (int)((n1 - n0 + PANEL - 1) / PANEL);
    float *panels = aligned_alloc(64, (size_t)npanels * k * PANEL * sizeof(float));
    if (!panels) return 0;
    for (int t = 0; t < npanels; t++) {
        const long c0 = n0 + (long)t * PANEL;
        pack_panel32(x, ldx, k, c0, n1 - c0 < PANEL ? (int)(n1 - c0) : PANEL, panels + (long)t * k * PANEL);
    }
    const int groups = (m + 3) / 4;
    for (int g = 0; g < groups; g += 2) {
        const int rows = m - g * 4 < 8 ? m - g * 4 : 8;
        const float *w0 = wp + (long)g * k * 4, *w1 = g + 1 < groups ? w0 + (long)k * 4 : w0;
        for (int t = 0; t < npanels; t++) {
            const long c0 = n0 + (long)t * PANEL;
            const int cols = n1 - c0 < PANEL ? (int)(n1 - c0) : PANEL;
            const float *sk = skip ? skip + (long)g * 4 * ldc + c0 : NULL;
            float *dst = out + (long)g * 4 * ldc + c0;
            if (rows > 4)
                tile_r32(w0, w1, panels + (long)t * k * PANEL, k, bias + g * 4, sk, relu6_on, dst, ldc, rows, cols, 8);
            else
                tile_r32(w0, w0, panels + (long)t * k * PANEL, k, bias + g * 4, sk, relu6_on, dst, ldc, rows, cols, 4);
        }
    }
    free(panels);
    return 1;
}

// ---- depthwise convolution ----

// One output row of a depthwise convolution, 16 columns a vector: acc = b + Σ w[ky][kx] ·
// input, from the padded plane P (stride 1) or its even and odd columns Pe, Po (stride 2),
// whose rows are long enough that no load leaves them; the last vector is stored under a mask.
AVX512 __attribute__((always_inline)) static inline void dw_row512(const float *P, const float *Pe, const float *Po,
                                                                  int pw, int pwe, int oy, int ow, const __m512 *wv,
                                                                  const int k, const int stride, __m512 b, int relu6_on,
                                                                  float *dst) {
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    for (int ox = 0; ox < ow; ox += 16) {
        __m512 acc = b;
        for (int ky = 0; ky < k; ky++) {
            const int r = oy * stride + ky;
            if (stride == 1) {
                const float *src = P + (long)r * pw + ox;
                for (int kx = 0; kx < k; kx++) acc = _mm512_fmadd_ps(wv[ky * k + kx], _mm512_loadu_ps(src + kx), acc);
            } else {
                const float *e = Pe + (long)r * pwe + ox, *o = Po + (long)r * pwe + ox;
                for (int kx = 0; kx < k; kx++)
                    acc = _mm512_fmadd_ps(wv[ky * k + kx], _mm512_loadu_ps((kx & 1) ? o + (kx >> 1) : e + (kx >> 1)), acc);
            }
        }
        if (relu6_on) acc = _mm512_min_ps(_mm512_max_ps(acc, zero), six);
        _mm512_mask_storeu_ps(dst + ox, tail_mask(ow - ox), acc);
    }
}

AVX512 __attribute__((always_inline)) static inline void dw_plane512(const float *P, const float *Pe, const float *Po,
                                                                    int pw, int pwe, int oh, int ow, const float *wk,
                                                                    const int k, const int stride, float b, int relu6_on,
                                                                    float *dst) {
    __m512 wv[25];
    for (int i = 0; i < k * k; i++) wv[i] = _mm512_set1_ps(wk[i]);
    const __m512 bv = _mm512_set1_ps(b);
    for (int oy = 0; oy < oh; oy++) dw_row512(P, Pe, Po, pw, pwe, oy, ow, wv, k, stride, bv, relu6_on, dst + (long)oy * ow);
}

AVX512 int pl_depthwise_conv_avx512(const float *in, int channels, int images, int h, int w, const float *weight,
                                    int k, int stride, int pad_top, int pad_left, int oh, int ow, const float *bias,
                                    int relu6_on, float *out) {
    if (!((k == 3 || k == 5) && (stride == 1 || stride == 2))) return 0;
    const int ow16 = (ow + 15) / 16 * 16;
    // Padded rows long enough for whole vectors: the last vector of a row reads up to column
    // (ow16 - 1) · stride + k - 1.
    const int ph = (oh - 1) * stride + k, pw = (ow16 - 1) * stride + k, pwe = (pw + 1) / 2;
    float *P = aligned_alloc(64, ((size_t)ph * pw + 2 * (size_t)ph * pwe + 16) * sizeof(float));
    if (!P) return 0;
    float *Pe = P + (long)ph * pw, *Po = Pe + (long)ph * pwe;
    const int x0 = pad_left < pw ? pad_left : pw;
    const int n = w < pw - x0 ? w : pw - x0;
    for (int p = 0; p < channels * images; p++) {
        const int c = p / images;
        const float *src = in + (long)p * h * w;
        const float *wk = weight + (long)c * k * k;
        const float b = bias ? bias[c] : 0.0f;
        float *dst = out + (long)p * oh * ow;
        for (int r = 0; r < ph; r++) {
            const int iy = r - pad_top;
            float *prow = P + (long)r * pw;
            if (iy < 0 || iy >= h || n <= 0) {
                memset(prow, 0, sizeof(float) * (size_t)pw);
            } else {
                memset(prow, 0, sizeof(float) * (size_t)x0);
                memcpy(prow + x0, src + (long)iy * w, sizeof(float) * (size_t)n);
                memset(prow + x0 + n, 0, sizeof(float) * (size_t)(pw - x0 - n));
            }
            if (stride == 2) {
                float *er = Pe + (long)r * pwe, *orow = Po + (long)r * pwe;
                int j = 0;
                // 16 even and 16 odd columns from 32 floats at a time.
                const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
                const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
                for (; 2 * j + 32 <= pw; j += 16) {
                    const __m512 a = _mm512_loadu_ps(prow + 2 * j), bb = _mm512_loadu_ps(prow + 2 * j + 16);
                    _mm512_storeu_ps(er + j, _mm512_permutex2var_ps(a, ie, bb));
                    _mm512_storeu_ps(orow + j, _mm512_permutex2var_ps(a, io, bb));
                }
                for (; j < pwe; j++) {
                    er[j] = prow[2 * j];
                    orow[j] = 2 * j + 1 < pw ? prow[2 * j + 1] : 0.0f;
                }
            }
        }
        if (k == 3 && stride == 1) dw_plane512(P, Pe, Po, pw, pwe, oh, ow, wk, 3, 1, b, relu6_on, dst);
        else if (k == 3) dw_plane512(P, Pe, Po, pw, pwe, oh, ow, wk, 3, 2, b, relu6_on, dst);
        else if (stride == 1) dw_plane512(P, Pe, Po, pw, pwe, oh, ow, wk, 5, 1, b, relu6_on, dst);
        else dw_plane512(P, Pe, Po, pw, pwe, oh, ow, wk, 5, 2, b, relu6_on, dst);
    }
    free(P);
    return 1;
}

// ---- transformer row kernels ----

AVX512 void pl_add_bias_avx512(float *x, int rows, int cols, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            _mm512_mask_storeu_ps(row + c, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + c), _mm512_maskz_loadu_ps(m, bias + c)));
        }
    }
}

// erf by the rational function of encoder_ops.c (Eigen's and XLA's), in the same order of
// operations, 16 lanes at a time.
AVX512 static inline __m512 erf512(__m512 a) {
    const __m512 x = _mm512_min_ps(_mm512_max_ps(a, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    const __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.72614225801306e-10f), _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(x, p);
    __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(-1.45660718464996e-05f), _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
    return _mm512_div_ps(p, q);
}

AVX512 void pl_bias_gelu_avx512(float *x, int rows, int cols, const float *bias) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), s = _mm512_set1_ps(0.70710678118654752440f);
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + c), _mm512_maskz_loadu_ps(m, bias + c));
            const __m512 g = _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf512(_mm512_mul_ps(v, s))));
            _mm512_mask_storeu_ps(row + c, m, g);
        }
    }
}

// LayerNorm with the mean and the variance summed in double, as the portable kernel does
// (8 double lanes per half vector), so rows of any length keep their precision.
AVX512 void pl_layer_norm_avx512(float *x, int rows, int cols, const float *gamma, const float *beta, float eps) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        for (int c = 0; c < cols; c += 16) {
            const __m512 v = _mm512_maskz_loadu_ps(tail_mask(cols - c), row + c);
            s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
            s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
        }
        const float mean = (float)(_mm512_reduce_add_pd(_mm512_add_pd(s0, s1)) / cols);
        const __m512 mv = _mm512_set1_ps(mean);
        __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, row + c), mv);
            const __m512d d0 = _mm512_cvtps_pd(_mm512_castps512_ps256(d));
            const __m512d d1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
            q0 = _mm512_fmadd_pd(d0, d0, q0);
            q1 = _mm512_fmadd_pd(d1, d1, q1);
        }
        const float inv = 1.0f / sqrtf((float)(_mm512_reduce_add_pd(_mm512_add_pd(q0, q1)) / cols) + eps);
        const __m512 iv = _mm512_set1_ps(inv);
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            const __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + c), mv), iv);
            _mm512_mask_storeu_ps(row + c, m,
                                  _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m, gamma + c), _mm512_maskz_loadu_ps(m, beta + c)));
        }
    }
}

// exp(x) for x <= 0 as attention_ops.c's exp_nonpositive (Cephes' expf polynomial), 16 lanes.
AVX512 static inline __m512 exp512_nonpositive(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.3f);
    const __mmask16 keep = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
    x = _mm512_max_ps(x, lo);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(keep, p, _mm512_castsi512_ps(e));
}

AVX512 void pl_softmax_rows_avx512(float *x, int rows, int cols, int ld) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * ld;
        __m512 mv = _mm512_set1_ps(-INFINITY);
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            mv = _mm512_mask_max_ps(mv, m, mv, _mm512_maskz_loadu_ps(m, row + c));
        }
        const __m512 mb = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
        __m512 sv = _mm512_setzero_ps();
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            const __m512 e = _mm512_maskz_mov_ps(m, exp512_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + c), mb)));
            _mm512_mask_storeu_ps(row + c, m, e);
            sv = _mm512_add_ps(sv, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv));
        for (int c = 0; c < cols; c += 16) {
            const __mmask16 m = tail_mask(cols - c);
            _mm512_mask_storeu_ps(row + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + c), inv));
        }
    }
}
