// A BF16 matrix product for the transformer encoders' linear layers (BERT): C = A · Wᵀ with A
// (activations) and W (weights, PyTorch's [out, in]) rounded to bfloat16 and every product
// accumulated in float32 by AVX512_BF16's vdpbf16ps, which multiplies two pairs of bfloat16 per
// float lane. A product of two bfloat16 is exact in float32, so the only errors beyond float32
// summation are the two roundings of the inputs (relative 2⁻⁹ each).
//
// On Zen 4 vdpbf16ps retires the multiply-adds of 32 pairs per zmm instruction at the rate of a
// 16-lane float FMA: twice sgemm's peak. The kernel runs only where pl_bf16_gemm_active() says
// so (the AVX-512 path, on a CPU with AVX512_BF16); callers use sgemm elsewhere, so the AVX2 and
// portable paths are unchanged. pl_gemm_bf16_ref is its plain twin for the tests
// (Tests/PipelineTensorTests/BF16GemmTests.swift).
//
// Each output row is computed the same way wherever it falls in a tile, a task or a batch (the
// depth is always walked in the same blocks and order), so a text embedded alone gets bit for
// bit the rows it gets in a batch.
#include "ckernels.h"
#include "encoder_kernels.h"
#include "simd.h"
#include <stdlib.h>
#include <string.h>

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")))

// ---- the gate ----

int pl_bf16_gemm_cpu(void) {
    return pl_isa_usable(PL_ISA_AVX512) && (pl_cpu_features() & PL_CPU_AVX512BF16) != 0;
}

int pl_bf16_gemm_active(void) { return pl_isa_now() == PL_ISA_AVX512 && (pl_cpu_features() & PL_CPU_AVX512BF16); }

// ---- conversions ----

// Float to bfloat16 as vcvtneps2bf16 does it: nearest even, NaN stays (quiet) NaN, subnormal
// inputs become zero of their sign.
static inline uint16_t f2bf(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    if ((u & 0x7F800000u) == 0) return (uint16_t)((u >> 16) & 0x8000);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1)) >> 16);
}

static inline float bf2f(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

long pl_bf16_packed_count(int n, int k) { return (long)((n + 15) / 16) * 16 * ((k + 1) / 2 * 2); }

void pl_bf16_pack_weights(const float *w, int n, int k, uint16_t *packed) {
    const int pairs = (k + 1) / 2;
    for (int j0 = 0; j0 < n; j0 += 16) {
        uint16_t *panel = packed + (long)j0 * pairs * 2;
        for (int p = 0; p < pairs; p++) {
            for (int j = 0; j < 16; j++) {
                for (int e = 0; e < 2; e++) {
                    const int col = j0 + j, depth = 2 * p + e;
                    panel[((long)p * 16 + j) * 2 + e] = col < n && depth < k ? f2bf(w[(long)col * k + depth]) : 0;
                }
            }
        }
    }
}

AVX512BF16 static void round_rows_avx512(const float *x, long ldx, int rows, int k, uint16_t *out, long ldo) {
    for (int r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        uint16_t *dst = out + r * ldo;
        int c = 0;
        for (; c + 32 <= k; c += 32) {
            const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + c + 16), _mm512_loadu_ps(src + c));
            _mm512_storeu_si512(dst + c, (__m512i)v);
        }
        for (; c < k; c += 16) {
            const int left = k - c < 16 ? k - c : 16;
            const __mmask16 m = (__mmask16)((1u << left) - 1);
            const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + c));
            _mm256_mask_storeu_epi16(dst + c, m, (__m256i)v);
        }
        if (k & 1) dst[k] = 0;
    }
}

void pl_bf16_round_rows(const float *x, long ldx, int rows, int k, uint16_t *out, long ldo) {
    if (pl_bf16_gemm_active()) { round_rows_avx512(x, ldx, rows, k, out, ldo); return; }
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < k; c++) out[r * ldo + c] = f2bf(x[r * ldx + c]);
        if (k & 1) out[r * ldo + k] = 0;
    }
}

// ---- the reference ----

// Depth in blocks of KC pairs; within a block, each pair's two products are added to the float
// accumulator one after the other, the higher element first (vdpbf16ps's order).
#define KC 128

void pl_gemm_bf16_ref(const uint16_t *a, long lda, int rows, const uint16_t *wp, int n, int k, float *c, long ldc,
                      int accumulate) {
    const int pairs = (k + 1) / 2;
    for (int r = 0; r < rows; r++) {
        for (int j = 0; j < n; j++) {
            const uint16_t *panel = wp + (long)(j / 16 * 16) * pairs * 2 + (j % 16) * 2;
            float acc = accumulate ? c[r * ldc + j] : 0;
            for (int p = 0; p < pairs; p++) {
                acc += bf2f(a[r * lda + 2 * p + 1]) * bf2f(panel[(long)p * 32 + 1]);
                acc += bf2f(a[r * lda + 2 * p]) * bf2f(panel[(long)p * 32]);
            }
            c[r * ldc + j] = acc;
        }
    }
}

// ---- the AVX512_BF16 kernel ----

#define MR 8  // rows per tile
#define NP 3  // 16-column panels per tile

static inline __mmask16 cols_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// R rows x np panels (np <= NP) over depth pairs p0..<p0 + pc; acc starts from c when load,
// else 0. `cols` is the number of valid columns in the tile (a tail masks the last panel).
AVX512BF16 __attribute__((always_inline)) static inline void tile(const uint16_t *a, long lda, const uint16_t *w,
                                                                  long panel_stride, int pc, float *c, long ldc,
                                                                  int cols, int load, const int R, const int np) {
    __m512 acc[MR][NP];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < np; q++) {
            const __mmask16 m = cols_mask(cols - 16 * q);
            acc[r][q] = load ? _mm512_maskz_loadu_ps(m, c + r * ldc + 16 * q) : _mm512_setzero_ps();
        }
    const uint32_t *ar = (const uint32_t *)a;
    const long ldp = lda / 2;
    for (int p = 0; p < pc; p++) {
        __m512bh b[NP];
        for (int q = 0; q < np; q++) b[q] = (__m512bh)_mm512_loadu_si512(w + q * panel_stride + (long)p * 32);
        for (int r = 0; r < R; r++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)ar[r * ldp + p]);
            for (int q = 0; q < np; q++) acc[r][q] = _mm512_dpbf16_ps(acc[r][q], x, b[q]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int q = 0; q < np; q++) _mm512_mask_storeu_ps(c + r * ldc + 16 * q, cols_mask(cols - 16 * q), acc[r][q]);
}

AVX512BF16 static void tile_rows(const uint16_t *a, long lda, const uint16_t *w, long panel_stride, int pc, float *c,
                                 long ldc, int cols, int load, int rows, int np) {
#define TILE(R, NPV) tile(a, lda, w, panel_stride, pc, c, ldc, cols, load, R, NPV)
#define ROWS(NPV)                                                                                                      \
    switch (rows) {                                                                                                    \
    case 8: TILE(8, NPV); break;                                                                                       \
    case 7: TILE(7, NPV); break;                                                                                       \
    case 6: TILE(6, NPV); break;                                                                                       \
    case 5: TILE(5, NPV); break;                                                                                       \
    case 4: TILE(4, NPV); break;                                                                                       \
    case 3: TILE(3, NPV); break;                                                                                       \
    case 2: TILE(2, NPV); break;                                                                                       \
    default: TILE(1, NPV); break;                                                                                      \
    }
    if (np == 3) {
        ROWS(3)
    } else if (np == 2) {
        ROWS(2)
    } else {
        ROWS(1)
    }
#undef ROWS
#undef TILE
}

int pl_gemm_bf16_avx512(const uint16_t *a, long lda, int rows, const uint16_t *wp, int n, int k, float *c, long ldc,
                        int accumulate) {
    if (rows <= 0 || n <= 0) return 1;
    const int pairs = (k + 1) / 2, panels = (n + 15) / 16;
    const long panel_stride = (long)pairs * 32;  // uint16 per 16-column panel
    for (int p0 = 0; p0 < pairs; p0 += KC) {
        const int pc = pairs - p0 < KC ? pairs - p0 : KC;
        const int load = accumulate || p0 > 0;
        for (int q0 = 0; q0 < panels; q0 += NP) {
            const int np = panels - q0 < NP ? panels - q0 : NP;
            const int j0 = q0 * 16, cols = n - j0 < np * 16 ? n - j0 : np * 16;
            const uint16_t *w = wp + q0 * panel_stride + (long)p0 * 32;
            for (int r0 = 0; r0 < rows; r0 += MR) {
                const int rr = rows - r0 < MR ? rows - r0 : MR;
                tile_rows(a + r0 * lda + 2 * p0, lda, w, panel_stride, pc, c + r0 * ldc + j0, ldc, cols, load, rr, np);
            }
        }
    }
    return 1;
}
