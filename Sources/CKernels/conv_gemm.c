// Pointwise (1x1) convolutions of the image encoders as one matrix product with its epilogue:
// out[m, n] = act(Σ_k W[m, k] · X[k, n] + bias[m] (+ skip[m, n])), act ReLU6 or identity, over
// channel-major activations (X rows are input channels, columns pixels). The weights are
// packed once at load in groups of 4 rows ([m/4][k][4]); a task packs its columns of X in
// panels of 24 ([k][24]) and runs a 4 x 24 AVX2 register tile over the whole depth, then adds
// the bias and residual and clamps while the tile is still in registers, so the output is
// written once. Tasks are column chunks (and row parts where there are few columns) that the
// caller spreads over its threads; each runs on one thread. The portable twin is plain C in
// the same order of operations; both are tested against a reference in
// Tests/PipelineTensorTests/ConvOpsTests.swift.
#include "ckernels.h"
#include "encoder_kernels.h"
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define TILE_COLS 24

static inline float clamp6(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }

void pl_pack_weights_rows4(const float *w, int m, int k, float *packed) {
    for (int g = 0; g < (m + 3) / 4; g++)
        for (int p = 0; p < k; p++)
            for (int r = 0; r < 4; r++) {
                const int row = g * 4 + r;
                packed[((long)g * k + p) * 4 + r] = row < m ? w[(long)row * k + p] : 0.0f;
            }
}

// Columns n0..<n0 + cols (cols <= TILE_COLS) of x's k rows into a [k][24] panel, zero-padded.
// (A library memcpy per 96-byte row cost more than the copy.)
static void pack_panel(const float *x, long ldx, int k, long n0, int cols, float *panel) {
    for (int p = 0; p < k; p++) {
        const float *src = x + (long)p * ldx + n0;
        float *dst = panel + (long)p * TILE_COLS;
        for (int j = 0; j < cols; j++) dst[j] = src[j];
        for (int j = cols; j < TILE_COLS; j++) dst[j] = 0.0f;
    }
}

AVX2 static void pack_panel_avx2(const float *x, long ldx, int k, long n0, int cols, float *panel) {
    if (cols < TILE_COLS) {
        pack_panel(x, ldx, k, n0, cols, panel);
        return;
    }
    for (int p = 0; p < k; p++) {
        const float *src = x + (long)p * ldx + n0;
        float *dst = panel + (long)p * TILE_COLS;
        _mm256_storeu_ps(dst, _mm256_loadu_ps(src));
        _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(src + 8));
        _mm256_storeu_ps(dst + 16, _mm256_loadu_ps(src + 16));
    }
}

static void gemm_portable(const float *wp, int m, int k, const float *panels, int npanels, long n0, long n1,
                          const float *bias, const float *skip, int relu6_on, float *out, long ldc) {
    for (int g = 0; g < (m + 3) / 4; g++) {
        const float *wg = wp + (long)g * k * 4;
        for (int t = 0; t < npanels; t++) {
            const float *panel = panels + (long)t * k * TILE_COLS;
            const long c0 = n0 + (long)t * TILE_COLS;
            const int cols = n1 - c0 < TILE_COLS ? (int)(n1 - c0) : TILE_COLS;
            for (int r = 0; r < 4 && g * 4 + r < m; r++) {
                const int row = g * 4 + r;
                for (int j = 0; j < cols; j++) {
                    float acc = 0.0f;
                    for (int p = 0; p < k; p++) acc += wg[p * 4 + r] * panel[(long)p * TILE_COLS + j];
                    float v = acc + bias[row];
                    if (skip) v += skip[(long)row * ldc + c0 + j];
                    out[(long)row * ldc + c0 + j] = relu6_on ? clamp6(v) : v;
                }
            }
        }
    }
}

// One 4 x 24 tile over the whole depth, then bias (+ skip) (+ ReLU6), stored to rows (< 4 of
// them valid when m is not a multiple of 4) and cols (<= 24) of out.
AVX2 static inline void tile_4x24(const float *wg, const float *panel, int k, const float *bias, const float *skip,
                                  int relu6_on, float *out, long ldc, int rows, int cols) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
    __m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
    for (int p = 0; p < k; p++) {
        const __m256 x0 = _mm256_loadu_ps(panel), x1 = _mm256_loadu_ps(panel + 8), x2 = _mm256_loadu_ps(panel + 16);
        __m256 b = _mm256_broadcast_ss(wg);
        a00 = _mm256_fmadd_ps(b, x0, a00), a01 = _mm256_fmadd_ps(b, x1, a01), a02 = _mm256_fmadd_ps(b, x2, a02);
        b = _mm256_broadcast_ss(wg + 1);
        a10 = _mm256_fmadd_ps(b, x0, a10), a11 = _mm256_fmadd_ps(b, x1, a11), a12 = _mm256_fmadd_ps(b, x2, a12);
        b = _mm256_broadcast_ss(wg + 2);
        a20 = _mm256_fmadd_ps(b, x0, a20), a21 = _mm256_fmadd_ps(b, x1, a21), a22 = _mm256_fmadd_ps(b, x2, a22);
        b = _mm256_broadcast_ss(wg + 3);
        a30 = _mm256_fmadd_ps(b, x0, a30), a31 = _mm256_fmadd_ps(b, x1, a31), a32 = _mm256_fmadd_ps(b, x2, a32);
        panel += TILE_COLS;
        wg += 4;
    }
    __m256 acc[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.0f);
    for (int r = 0; r < rows; r++) {
        const __m256 b = _mm256_set1_ps(bias[r]);
        float *dst = out + (long)r * ldc;
        const float *sk = skip ? skip + (long)r * ldc : NULL;
        if (cols == TILE_COLS) {
            for (int i = 0; i < 3; i++) {
                __m256 v = _mm256_add_ps(acc[r][i], b);
                if (sk) v = _mm256_add_ps(v, _mm256_loadu_ps(sk + 8 * i));
                if (relu6_on) v = _mm256_min_ps(_mm256_max_ps(v, zero), six);
                _mm256_storeu_ps(dst + 8 * i, v);
            }
        } else {
            float tmp[TILE_COLS];
            for (int i = 0; i < 3; i++) _mm256_storeu_ps(tmp + 8 * i, _mm256_add_ps(acc[r][i], b));
            for (int j = 0; j < cols; j++) {
                float v = tmp[j];
                if (sk) v += sk[j];
                dst[j] = relu6_on ? clamp6(v) : v;
            }
        }
    }
}

AVX2 static void gemm_avx2(const float *wp, int m, int k, const float *panels, int npanels, long n0, long n1,
                           const float *bias, const float *skip, int relu6_on, float *out, long ldc) {
    for (int g = 0; g < (m + 3) / 4; g++) {
        const float *wg = wp + (long)g * k * 4;
        const int rows = m - g * 4 < 4 ? m - g * 4 : 4;
        for (int t = 0; t < npanels; t++) {
            const long c0 = n0 + (long)t * TILE_COLS;
            const int cols = n1 - c0 < TILE_COLS ? (int)(n1 - c0) : TILE_COLS;
            tile_4x24(wg, panels + (long)t * k * TILE_COLS, k, bias + g * 4, skip ? skip + (long)g * 4 * ldc + c0 : NULL,
                      relu6_on, out + (long)g * 4 * ldc + c0, ldc, rows, cols);
        }
    }
}

void pl_conv_gemm(const float *wp, int m, int k, const float *x, long ldx, long n0, long n1, const float *bias,
                  const float *skip, int relu6_on, float *out, long ldc, float *scratch) {
    if (n1 <= n0 || m <= 0) return;
    if (pl_enc512_active() && pl_conv_gemm_avx512(wp, m, k, x, ldx, n0, n1, bias, skip, relu6_on, out, ldc)) return;
    const int npanels = (int)((n1 - n0 + TILE_COLS - 1) / TILE_COLS), portable = pl_kernels_portable();
    for (int t = 0; t < npanels; t++) {
        const long c0 = n0 + (long)t * TILE_COLS;
        const int cols = n1 - c0 < TILE_COLS ? (int)(n1 - c0) : TILE_COLS;
        if (portable) pack_panel(x, ldx, k, c0, cols, scratch + (long)t * k * TILE_COLS);
        else pack_panel_avx2(x, ldx, k, c0, cols, scratch + (long)t * k * TILE_COLS);
    }
    if (portable)
        gemm_portable(wp, m, k, scratch, npanels, n0, n1, bias, skip, relu6_on, out, ldc);
    else
        gemm_avx2(wp, m, k, scratch, npanels, n0, n1, bias, skip, relu6_on, out, ldc);
}
