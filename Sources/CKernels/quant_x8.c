// Q4_1 and Q8_0 weights repacked eight rows at a time, for matrix–vector products.
//
// ggml keeps each row's blocks together; a dot product then converts two f16 scales and
// multiplies them with the activation's scale once per block and row. Here a block column of
// eight rows is stored together — the eight f16 scales (and Q4_1 minimums), then the eight
// rows' quants — so one vector conversion and one vector multiply give all eight rows' scale
// products. Each row keeps its own 8-lane accumulator, updated per block by the same
// operations in the same order as ggml's AVX2 dot product (quant_dot.c), so every output is
// bit-identical to the one-row kernel.
//
// Layouts, per group of 8 rows and block b (groups are nb blocks long):
//   Q4_1x8: 8 x f16 d | 8 x f16 m | 8 x 16 bytes of nibbles           (160 bytes)
//   Q8_0x8: 8 x f16 d | 8 x 32 signed bytes                           (272 bytes)
//   Q4_Kx8: 8 x f16 d | 8 x f16 dmin | scales [sub 8][row 8] u8 | mins [sub 8][row 8] u8 |
//           nibbles [chunk 4][j 8][row 8][4 bytes]                    (1184 bytes per 256)
// Q4_Kx8 is the prompt-GEMM layout llama.cpp's AVX2 build also repacks Q4_K into (its
// block_q4_Kx8); ours stores the 6-bit scales and mins unpacked and the nibbles four bytes per
// row, so one 32-bit lane of a vector holds one row: the integer sums of eight rows come out in
// the eight lanes with no horizontal adds, and the float steps per block and row are the ones
// ggml_gemv/gemm_q4_K_8x8_q8_K take: acc = fma(I, d*da, acc), accm = fma(M, dmin*da, accm),
// result acc - accm, lane for lane.
#include "ckernels.h"
#include "simd.h"
#include "llm_avx512.h"
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

// How far ahead of the current block the weights are prefetched (measured best of 512-4096).
enum { PREFETCH = 2048 };

int pl_x8_block_bytes(int type) {
    switch (type) {
    case 3: return 160;
    case 8: return 272;
    case 12: return 1184 / 8;  // per 32 elements; a Q4_Kx8 block covers 256
    default: return 0;
    }
}

// Q4_K's 6-bit scale and min of sub-block s (0-7) from its 12 packed bytes.
static inline void q4_K_scale_min(const uint8_t *q, int s, uint8_t *sc, uint8_t *m) {
    if (s < 4) {
        *sc = q[s] & 63;
        *m = q[s + 4] & 63;
    } else {
        *sc = (q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4);
        *m = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
    }
}

static void repack_q4_K_x8(const uint8_t *src, int row_bytes, int rows, int nb, uint8_t *d) {
    for (int g = 0; g < rows / 8; g++) {
        for (int b = 0; b < nb; b++, d += 1184) {
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = src + (size_t)(g * 8 + r) * row_bytes + (size_t)b * 144;
                memcpy(d + 2 * r, blk, 2);
                memcpy(d + 16 + 2 * r, blk + 2, 2);
                for (int sub = 0; sub < 8; sub++) q4_K_scale_min(blk + 4, sub, d + 32 + 8 * sub + r, d + 96 + 8 * sub + r);
                for (int c = 0; c < 4; c++)
                    for (int j = 0; j < 8; j++) memcpy(d + 160 + 256 * c + 32 * j + 4 * r, blk + 16 + 32 * c + 4 * j, 4);
            }
        }
    }
}

int pl_repack_x8(int type, const void *src, int row_bytes, int rows, int n, void *dst) {
    const int bb = pl_x8_block_bytes(type), nb = n / 32;
    if (!bb || rows % 8) return 0;
    if (type == 12) {
        if (n % 256) return 0;
        repack_q4_K_x8(src, row_bytes, rows, n / 256, dst);
        return 1;
    }
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (int g = 0; g < rows / 8; g++) {
        for (int b = 0; b < nb; b++, d += bb) {
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = s + (size_t)(g * 8 + r) * row_bytes + (size_t)b * (type == 3 ? 20 : 34);
                if (type == 3) {
                    memcpy(d + 2 * r, blk, 2);
                    memcpy(d + 16 + 2 * r, blk + 2, 2);
                    memcpy(d + 32 + 16 * r, blk + 4, 16);
                } else {
                    memcpy(d + 2 * r, blk, 2);
                    memcpy(d + 16 + 32 * r, blk + 2, 32);
                }
            }
        }
    }
    return 1;
}

// Adjacent i16 pairs summed to i32. (Shifts and adds instead of this multiply measured
// slower here.)
AVX2 static inline __m256i pair_sums(__m256i v) { return _mm256_madd_epi16(v, _mm256_set1_epi16(1)); }

static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h2f_scalar(h);
}

// One group of 8 Q4_1 rows against one Q8_1 activation vector (36-byte blocks) whose block
// scales and sums are given as floats (ad, as).
AVX2 static void q4_1x8_group(const uint8_t *w, const uint8_t *a, const float *ad, const float *as, int nb, float *out) {
    __m256 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
    __m256 mins = _mm256_setzero_ps();
    const __m256i mask = _mm256_set1_epi8(0x0F);
    float scales[8] __attribute__((aligned(32)));
    for (int b = 0; b < nb; b++, w += 160, a += 36) {
        _mm_prefetch((const char *)w + PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH + 128, _MM_HINT_T0);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w));
        const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 16)));
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_broadcast_ss(ad + b)));
        mins = _mm256_fmadd_ps(m, _mm256_broadcast_ss(as + b), mins);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 4));
        const uint8_t *q = w + 32;
        for (int r = 0; r < 8; r++, q += 16) {
            const __m128i bytes = _mm_loadu_si128((const __m128i *)q);
            const __m256i x = _mm256_and_si256(
                _mm256_inserti128_si256(_mm256_castsi128_si256(bytes), _mm_srli_epi16(bytes, 4), 1), mask);
            const __m256 s = _mm256_cvtepi32_ps(pair_sums(_mm256_maddubs_epi16(x, y)));
            acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(scales + r), s, acc[r]);
        }
    }
    float m8[8];
    _mm256_storeu_ps(m8, mins);
    for (int r = 0; r < 8; r++) out[r] = hsum8(acc[r]) + m8[r];
}

// One group of 8 Q8_0 rows against one Q8_0 activation vector (34-byte blocks) whose block
// scales are given as floats (ad).
AVX2 static void q8_0x8_group(const uint8_t *w, const uint8_t *a, const float *ad, int nb, float *out) {
    __m256 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
    float scales[8] __attribute__((aligned(32)));
    for (int b = 0; b < nb; b++, w += 272, a += 34) {
        _mm_prefetch((const char *)w + PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH + 192, _MM_HINT_T0);
        _mm_prefetch((const char *)w + PREFETCH + 256, _MM_HINT_T0);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w));
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_broadcast_ss(ad + b)));
        const __m256i y = _mm256_loadu_si256((const __m256i *)(a + 2));
        const uint8_t *q = w + 16;
        for (int r = 0; r < 8; r++, q += 32) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)q);
            const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
            const __m256 s = _mm256_cvtepi32_ps(pair_sums(p));
            acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(scales + r), s, acc[r]);
        }
    }
    for (int r = 0; r < 8; r++) out[r] = hsum8(acc[r]);
}

// Eight rows against four activation columns (prompt chunks): each row's blocks are unpacked
// once for the four columns. The scale products d(row) * d(column) of a block come from one
// vector multiply per column, kept in `table` (nb x 4 x 8 floats); the Q4_1 minimum terms
// accumulate per column over eight rows at once. Same per-output operations and order as
// the one-column kernels.
AVX2 static void x8_cols4(int type, const uint8_t *w, const uint8_t *const a[4], const float *const ad[4],
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
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int r = 0; r < 8; r++) {
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const uint8_t *q = w + (size_t)b * bb + qoff;
            const float *t = table + b * 32 + r;
            const size_t o = (size_t)b * ab + (type == 3 ? 4 : 2);
            if (type == 3) {
                const __m128i bytes = _mm_loadu_si128((const __m128i *)(q + 16 * r));
                const __m256i x = _mm256_and_si256(
                    _mm256_inserti128_si256(_mm256_castsi128_si256(bytes), _mm_srli_epi16(bytes, 4), 1), mask);
#define COL(acc, c) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(t + 8 * c), _mm256_cvtepi32_ps(pair_sums( \
                    _mm256_maddubs_epi16(x, _mm256_loadu_si256((const __m256i *)(a[c] + o))))), acc);
                COL(acc0, 0) COL(acc1, 1) COL(acc2, 2) COL(acc3, 3)
#undef COL
            } else {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * r));
                const __m256i ax = _mm256_sign_epi8(x, x);
#define COL(acc, c) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(t + 8 * c), _mm256_cvtepi32_ps(pair_sums( \
                    _mm256_maddubs_epi16(ax, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(a[c] + o)), x)))), acc);
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

static inline int32_t load32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

// Eight u8 values -> 8 x i32 lanes holding the value in both 16-bit halves (a madd_epi16 factor).
AVX2 static inline __m256i q4_K_lane_pairs(const uint8_t *p) {
    const __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
}

// Eight Q4_K rows (one x8 group, nb blocks) against NC Q8_K activation columns. Lane r of
// every vector is row r. Per sub-block the nibble products of 8 four-byte steps are summed in
// 16 bits (at most 8 x 2 x 15 x 127 = 30480, no overflow), then one madd by the sub-block scale
// widens them; the min term is a madd of the mins with the activation's 16-element sums.
AVX2 __attribute__((always_inline)) static inline void q4_K_x8_tile(const uint8_t *w, int nb, const uint8_t *const a[4],
                                                                  const int nc, float *out, int out_stride) {
    __m256 acc[4], accm[4];
    for (int c = 0; c < nc; c++) acc[c] = accm[c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = w + (size_t)b * 1184;
        const uint8_t *ab[4];
        for (int c = 0; c < nc; c++) ab[c] = a[c] + (size_t)b * 292;
        __m256i isum[4], msum[4];
        for (int c = 0; c < nc; c++) isum[c] = msum[c] = _mm256_setzero_si256();
        for (int chunk = 0; chunk < 4; chunk++) {
            __m256i lo16[4], hi16[4];
            for (int c = 0; c < nc; c++) lo16[c] = hi16[c] = _mm256_setzero_si256();
            const uint8_t *q = wb + 160 + 256 * chunk;
            for (int j = 0; j < 8; j++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
                const __m256i lo = _mm256_and_si256(bytes, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
                for (int c = 0; c < nc; c++) {
                    const uint8_t *y = ab[c] + 4 + 64 * chunk + 4 * j;
                    lo16[c] = _mm256_add_epi16(lo16[c], _mm256_maddubs_epi16(lo, _mm256_set1_epi32(load32(y))));
                    hi16[c] = _mm256_add_epi16(hi16[c], _mm256_maddubs_epi16(hi, _mm256_set1_epi32(load32(y + 32))));
                }
            }
            const __m256i sl = q4_K_lane_pairs(wb + 32 + 16 * chunk), sh = q4_K_lane_pairs(wb + 40 + 16 * chunk);
            for (int c = 0; c < nc; c++)
                isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_madd_epi16(lo16[c], sl), _mm256_madd_epi16(hi16[c], sh)));
        }
        for (int sub = 0; sub < 8; sub++) {
            const __m256i mins = q4_K_lane_pairs(wb + 96 + 8 * sub);
            for (int c = 0; c < nc; c++) {
                // The sub-block's two 16-element activation sums, as one i16 pair.
                msum[c] = _mm256_add_epi32(msum[c], _mm256_madd_epi16(mins, _mm256_set1_epi32(load32(ab[c] + 260 + 4 * sub))));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wb + 16)));
        for (int c = 0; c < nc; c++) {
            float da;
            memcpy(&da, ab[c], 4);
            const __m256 vda = _mm256_set1_ps(da);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d, vda), acc[c]);
            accm[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum[c]), _mm256_mul_ps(dmin, vda), accm[c]);
        }
    }
    for (int c = 0; c < nc; c++) _mm256_storeu_ps(out + (size_t)c * out_stride, _mm256_sub_ps(acc[c], accm[c]));
}

AVX2 static void q4_K_x8_matvec(const uint8_t *w, int groups, const uint8_t *a, int a_stride, int ncols, int nb, float *out,
                                int out_stride) {
    for (int g = 0; g < groups; g++) {
        const uint8_t *wg = w + (size_t)g * nb * 1184;
        for (int c0 = 0; c0 < ncols; c0 += 4) {
            const uint8_t *cols[4];
            const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
            for (int c = 0; c < nc; c++) cols[c] = a + (size_t)(c0 + c) * a_stride;
            float *o = out + (size_t)c0 * out_stride + g * 8;
            switch (nc) {
            case 4: q4_K_x8_tile(wg, nb, cols, 4, o, out_stride); break;
            case 3: q4_K_x8_tile(wg, nb, cols, 3, o, out_stride); break;
            case 2: q4_K_x8_tile(wg, nb, cols, 2, o, out_stride); break;
            default: q4_K_x8_tile(wg, nb, cols, 1, o, out_stride); break;
            }
        }
    }
}

typedef void (*x8_cols4_fn)(int type, const uint8_t *w, const uint8_t *const a[4], const float *const ad[4],
                            const float *const as[4], int nb, float *table, float out[4][8]);
typedef void (*x8_group_fn)(int type, const uint8_t *w, const uint8_t *a, const float *ad, const float *as, int nb,
                            float *out);

// One x8 group against one activation column, either type (the one-column kernels above).
AVX2 static void x8_group(int type, const uint8_t *w, const uint8_t *a, const float *ad, const float *as, int nb, float *out) {
    if (type == 3) q4_1x8_group(w, a, ad, as, nb, out);
    else q8_0x8_group(w, a, ad, nb, out);
}

int pl_matvec_x8(int type, const void *w, int groups, const void *a, int a_stride, int ncols, int n, float *out,
                 int out_stride) {
    if (!pl_use_avx2()) return 0;
    if (type == 12) {
        if (n % 256) return 0;
        if (pl_q4_K_x8_matvec_avx512(w, groups, a, a_stride, ncols, n, out, out_stride)) return 1;
        q4_K_x8_matvec(w, groups, a, a_stride, ncols, n / 256, out, out_stride);
        return 1;
    }
    const int nb = n / 32, bb = pl_x8_block_bytes(type);
    if (!bb) return 0;
    // The kernels: vpdpbusd where this thread takes the AVX-512 path and the CPU has VNNI (same bits).
    const int vnni = pl_use_avx512_vnni() && n % 32 == 0;
    x8_cols4_fn cols4 = vnni ? pl_x8_cols4_vnni : x8_cols4;
    x8_group_fn group = vnni ? pl_x8_group_vnni : x8_group;
    const size_t group_bytes = (size_t)nb * bb;
    const int ab = type == 3 ? 36 : 34;
    // The activations' f16 scales (and Q8_1 sums) as floats, converted once for all groups.
    float stack[2 * 4 * 64];
    float *scales = (size_t)ncols * nb <= 4 * 64 ? stack : malloc(sizeof(float) * 2 * (size_t)ncols * nb);
    if (!scales) return 0;
    float *sums = scales + (size_t)ncols * nb;
    for (int c = 0; c < ncols; c++) {
        const uint8_t *ac = (const uint8_t *)a + (size_t)c * a_stride;
        for (int b = 0; b < nb; b++) {
            scales[c * nb + b] = f16(ac + b * ab);
            if (type == 3) sums[c * nb + b] = f16(ac + b * ab + 2);
        }
    }
    float tmp[8], tmp4[4][8];
    float *table = ncols >= 4 ? aligned_alloc(32, sizeof(float) * 32 * ((size_t)nb + 1)) : NULL;
    if (ncols >= 4 && !table) {
        if (scales != stack) free(scales);
        return 0;
    }
    // Per group, every column: the group's weights (at most a few KB per block row) stay in L1.
    for (int g = 0; g < groups; g++) {
        const uint8_t *wg = (const uint8_t *)w + g * group_bytes;
        int c0 = 0;
        for (; c0 + 4 <= ncols; c0 += 4) {
            const uint8_t *acs[4];
            const float *ads[4], *ass[4];
            for (int c = 0; c < 4; c++) {
                acs[c] = (const uint8_t *)a + (size_t)(c0 + c) * a_stride;
                ads[c] = scales + (c0 + c) * nb;
                ass[c] = sums + (c0 + c) * nb;
            }
            cols4(type, wg, acs, ads, ass, nb, table, tmp4);
            for (int c = 0; c < 4; c++) memcpy(out + (size_t)(c0 + c) * out_stride + g * 8, tmp4[c], sizeof tmp);
        }
        for (int c = c0; c < ncols; c++) {
            group(type, wg, (const uint8_t *)a + (size_t)c * a_stride, scales + c * nb, sums + c * nb, nb, tmp);
            memcpy(out + (size_t)c * out_stride + g * 8, tmp, sizeof tmp);
        }
    }
    if (scales != stack) free(scales);
    free(table);
    return 1;
}
