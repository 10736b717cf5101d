// AVX-512 / VNNI kernels for Gemma 3's quantized types (Q5_0 and Q4_K) and its Q8_K activations (issue #17).
//
// Every kernel here keeps the float steps of the AVX2 kernel it replaces (quant_dot.c,
// quant_x8.c), lane for lane and in the same order, so every output is bit-identical to the
// AVX2 path (and so to the portable twins and to llama.cpp's AVX2 build where the AVX2 kernel
// is): only the integer work, which is exact in any order, is done differently.
//
// Gate: the kernels run where the thread's kernel path is avx512 (isa.c: `auto` on a CPU with
// AVX-512 F/BW/VL, or --isa / PIPELINE_ISA avx512) and the CPU also has VNNI. `--isa avx2` is the
// pure AVX2 path, the A/B baseline. pl_gemma512_set lets a test switch them off in-process.
#include "ckernels.h"
#include "simd.h"
#include "q6_k.h"
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static int gemma512_switch = 1;  // 0 off (pl_gemma512_set, tests); 1 on

int pl_gemma512_available(void) { return pl_isa_usable(PL_ISA_AVX512) && (pl_cpu_features() & PL_CPU_AVX512VNNI); }

int pl_gemma512_set(int on) {
    const int before = pl_gemma512_enabled();
    gemma512_switch = on ? 1 : 0;
    return before;
}

int pl_gemma512_enabled(void) { return gemma512_switch && pl_gemma512_available(); }

int pl_gemma512_on(void) { return pl_isa_now() >= PL_ISA_AVX512 && pl_gemma512_enabled(); }

static inline float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h2f_scalar(h);
}

// A weight block's f16 scale in all eight lanes. Through vmovd (which clears the register) and
// not a scalar load-and-convert: the latter compiles to vpinsrw into a live register and chains
// every block to the previous block's accumulator.
AVX512 static inline __m256 f16_bcast(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

// ---- Q5_0 prompt GEMM ----
// AVX2 (q5_0_row8): per block, x = q - 16 (signed), lane k = sum of x*y over elements
// 4k..4k+3 by sign/sign/maddubs/madd, then acc = fma(dw*da, lanes, acc), hsum8 at the end.
// Here the 5-bit quants stay unsigned (q = 0..31) and one vpdpbusd gives
// sum(q*y) + bias = sum((q-16)*y), the bias -16 * sum(y) of the four elements being computed
// once per activation column and block (Q8_0 quants are -127..127, so this equals the AVX2
// sign trick's sum). The eight products dw*da of a block come from one vector multiply, as in
// the AVX2 kernel, and each column's lanes take the AVX2 lane's float steps. The activations
// are rearranged once per call, per group of eight columns and block: eight columns' 32 quants
// then their eight i32 biases (64 bytes a column), and the eight columns' scales as floats.

enum { Q5_COL_BYTES = 64, Q5_GROUP_BYTES = 8 * 64 + 32 };

// How far ahead the Q5_0 one-column (decode) kernel asks for weight lines: they stream from
// memory once per token (Gemma decode, paired runs: +6% at 2 KB, about +5% more at 4 KB, 8 KB
// not clearly better; the same in the Q4_K and Q6_K decode kernels, a smaller share of the
// bytes, measured no gain).
enum { Q5_PREFETCH = 4096 };

static _Thread_local uint8_t *q5_buf;
static _Thread_local size_t q5_cap;

// Unsigned quants q = nibble | fifth bit << 4, 32 bytes of one block.
AVX512 static inline __m256i q5_0_unsigned(const uint8_t *w) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)(w + 6));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), _mm_and_si128(bytes, mask));
    uint32_t qh;
    memcpy(&qh, w + 2, 4);
    return _mm256_or_si256(nib, _mm256_maskz_mov_epi8((__mmask32)qh, _mm256_set1_epi8(0x10)));
}

// buf: [column group of 8][block] x (8 x (32 quants, 8 x i32 bias), 8 x f32 scale). Columns past
// the end repeat the last one (their outputs are not written).
AVX512 static void q5_prepare(const uint8_t *a, int a_stride, int ncols, int nb, uint8_t *buf) {
    const int groups = (ncols + 7) / 8;
    for (int g = 0; g < groups; g++) {
        for (int c = 0; c < 8; c++) {
            const int col = 8 * g + c < ncols ? 8 * g + c : ncols - 1;
            const uint8_t *ac = a + (size_t)col * a_stride;
            for (int b = 0; b < nb; b++) {
                uint8_t *d = buf + ((size_t)g * nb + b) * Q5_GROUP_BYTES;
                const int8_t *y = (const int8_t *)(ac + (size_t)b * 34 + 2);
                uint8_t *pair = d + 2 * Q5_COL_BYTES * (c / 2);
                memcpy(pair + 32 * (c % 2), y, 32);
                int32_t bias[8];
                for (int k = 0; k < 8; k++) bias[k] = -16 * (y[4 * k] + y[4 * k + 1] + y[4 * k + 2] + y[4 * k + 3]);
                memcpy(pair + 64 + 32 * (c % 2), bias, 32);
                const float s = f16_at(ac + (size_t)b * 34);
                memcpy(d + 8 * Q5_COL_BYTES + 4 * c, &s, 4);
            }
        }
    }
}

// One row against up to eight columns of one group: columns 2p and 2p+1 share a 512-bit vector
// (lanes 0-7 and 8-15), each half doing the AVX2 lanes' steps for its column.
AVX512 static inline __m512i pair_index(int i) {
    return _mm512_set_epi32(2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i, 2 * i,
                            2 * i, 2 * i, 2 * i, 2 * i, 2 * i, 2 * i);
}

AVX512 __attribute__((always_inline)) static inline void q5_0_row8_512(const uint8_t *w, const uint8_t *buf, int nb, int nc,
                                                                      float *out, int out_stride) {
    const int np = (nc + 1) / 2;
    __m512 acc[4];
    for (int p = 0; p < np; p++) acc[p] = _mm512_setzero_ps();
    const __m512i idx[4] = {pair_index(0), pair_index(1), pair_index(2), pair_index(3)};
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = w + (size_t)b * 22;
        const uint8_t *d = buf + (size_t)b * Q5_GROUP_BYTES;
        const __m512i q = _mm512_broadcast_i64x4(q5_0_unsigned(wb));
        const __m512 prod = _mm512_castps256_ps512(
            _mm256_mul_ps(f16_bcast(wb), _mm256_loadu_ps((const float *)(d + 8 * Q5_COL_BYTES))));
        for (int p = 0; p < np; p++) {
            const uint8_t *col = d + 2 * Q5_COL_BYTES * p;
            const __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(col + 64), q, _mm512_loadu_si512(col));
            acc[p] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx[p], prod), _mm512_cvtepi32_ps(s), acc[p]);
        }
    }
    for (int p = 0; p < np; p++) {
        out[(size_t)(2 * p) * out_stride] = hsum8(_mm512_castps512_ps256(acc[p]));
        if (2 * p + 1 < nc) out[(size_t)(2 * p + 1) * out_stride] = hsum8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[p]), 1)));
    }
}

AVX512 static void q5_0_matmul_512(const uint8_t *w, int row_bytes, int nrows, const uint8_t *buf, int ncols, int nb, float *out,
                                   int out_stride) {
    for (int r0 = 0; r0 < nrows; r0 += 16) {
        const int r1 = r0 + 16 < nrows ? r0 + 16 : nrows;
        for (int c0 = 0; c0 < ncols; c0 += 8) {
            const int nc = ncols - c0 < 8 ? ncols - c0 : 8;
            const uint8_t *g = buf + (size_t)(c0 / 8) * nb * Q5_GROUP_BYTES;
            float *o = out + (size_t)c0 * out_stride;
            for (int r = r0; r < r1; r++) {
                const uint8_t *wr = w + (size_t)r * row_bytes;
                if (nc == 8) q5_0_row8_512(wr, g, nb, 8, o + r, out_stride);
                else q5_0_row8_512(wr, g, nb, nc, o + r, out_stride);
            }
        }
    }
}

// One activation column (decode): two rows share a 512-bit vector (lanes 0-7 row r, 8-15 row
// r+1), against the prepared column doubled ([y | y], [bias | bias]). Each lane takes the
// single dot's steps: acc = fma(dw*da, lanes, acc) per block, hsum8 per row. Each row pair first
// asks for the lines Q5_PREFETCH bytes ahead.
AVX512 static void q5_0_gemv_512(const uint8_t *w, int row_bytes, int nrows, const uint8_t *buf, int nb, float *out) {
    int r = 0;
    for (; r + 2 <= nrows; r += 2) {
        const uint8_t *w0 = w + (size_t)r * row_bytes, *w1 = w0 + row_bytes;
        for (int p = 0; p < 2 * row_bytes; p += 64) _mm_prefetch((const char *)w0 + Q5_PREFETCH + p, _MM_HINT_T0);
        __m512 acc = _mm512_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const uint8_t *d = buf + (size_t)b * Q5_GROUP_BYTES;
            const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(q5_0_unsigned(w0 + (size_t)b * 22)),
                                                 q5_0_unsigned(w1 + (size_t)b * 22), 1);
            const __m512 dw = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(f16_bcast(w0 + (size_t)b * 22))),
                                                                  _mm256_castps_pd(f16_bcast(w1 + (size_t)b * 22)), 1));
            const __m512 prod = _mm512_mul_ps(dw, _mm512_set1_ps(*(const float *)(d + 8 * Q5_COL_BYTES)));
            const __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(d + 64), q, _mm512_loadu_si512(d));
            acc = _mm512_fmadd_ps(prod, _mm512_cvtepi32_ps(s), acc);
        }
        out[r] = hsum8(_mm512_castps512_ps256(acc));
        out[r + 1] = hsum8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
    }
    if (r < nrows) q5_0_row8_512(w + (size_t)r * row_bytes, buf, nb, 1, out + r, 0);
}

int pl_q5_0_matmul_avx512(const void *w, int row_bytes, int nrows, const void *a, int a_stride, int ncols, int n, float *out,
                          int out_stride) {
    if (!pl_gemma512_on() || n % 32 || ncols < 1) return 0;
    const int nb = n / 32, groups = (ncols + 7) / 8;
    const size_t need = (size_t)groups * nb * Q5_GROUP_BYTES;
    if (need > q5_cap) {
        free(q5_buf);
        q5_buf = aligned_alloc(64, (need + 63) / 64 * 64);
        q5_cap = q5_buf ? need : 0;
        if (!q5_buf) return 0;
    }
    q5_prepare(a, a_stride, ncols, nb, q5_buf);
    if (ncols == 1) q5_0_gemv_512(w, row_bytes, nrows, q5_buf, nb, out);
    else q5_0_matmul_512(w, row_bytes, nrows, q5_buf, ncols, nb, out, out_stride);
    return 1;
}

// ---- Q4_K, eight-row groups (quant_x8.c's Q4_Kx8 layout) ----
// AVX2 (q4_K_x8_tile): per chunk of 64 elements, eight 4-byte steps of maddubs summed in 16
// bits, one madd by the sub-block scales; mins by madd with the 16-element sums; then per
// block acc = fma(I, d*da, acc), accm = fma(M, dmin*da, accm) in eight lanes (one per row).
// Here one vpdpbusd (the four activation bytes broadcast from memory, {1to8}) adds a step's
// four products to each row's 32-bit sum, replacing maddubs + add; eight steps make a
// sub-block's sum, multiplied by its scale (vpmulld) per row. The integers are exact, so I and
// M equal the AVX2 kernel's, and the float steps are its steps.
static inline int32_t load32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

AVX512 __attribute__((always_inline)) static inline void q4_K_x8_tile_512(const uint8_t *w, int nb, const uint8_t *const a[4],
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
            const uint8_t *q = wb + 160 + 256 * chunk;
            // High nibbles are left in place (x16): their sums are shifted back once per sub-block,
            // exactly (every term is a multiple of 16).
            __m256i lo[8], hi[8];
            for (int j = 0; j < 8; j++) {
                const __m256i z = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
                lo[j] = _mm256_and_si256(z, m4);
                hi[j] = _mm256_andnot_si256(m4, z);
            }
            const __m256i sl = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(wb + 32 + 16 * chunk)));
            const __m256i sh = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(wb + 40 + 16 * chunk)));
            for (int c = 0; c < nc; c++) {
                const uint8_t *y = ab[c] + 4 + 64 * chunk;
                __m256i l32 = _mm256_setzero_si256(), h32 = _mm256_setzero_si256();
                for (int j = 0; j < 8; j++) {
                    l32 = _mm256_dpbusd_epi32(l32, lo[j], _mm256_set1_epi32(load32(y + 4 * j)));
                    h32 = _mm256_dpbusd_epi32(h32, hi[j], _mm256_set1_epi32(load32(y + 32 + 4 * j)));
                }
                isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_mullo_epi32(l32, sl), _mm256_mullo_epi32(_mm256_srai_epi32(h32, 4), sh)));
            }
        }
        // Mins: sub-block s's eight rows' mins (both i16 halves) against its two 16-element sums.
        for (int sub = 0; sub < 8; sub++) {
            const __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(wb + 96 + 8 * sub)));
            const __m256i mins = _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
            for (int c = 0; c < nc; c++)
                msum[c] = _mm256_add_epi32(msum[c], _mm256_madd_epi16(mins, _mm256_set1_epi32(load32(ab[c] + 260 + 4 * sub))));
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

// Two adjacent eight-row groups (16 rows) at once: lanes 0-7 are group g's rows, lanes 8-15
// group g+1's, so one 512-bit vpdpbusd with the activation bytes broadcast {1to16} serves 16
// rows (on this CPU a 512-bit vpdpbusd retires as fast as a 256-bit one: scripts/bench-roofline).
// Per lane the integer sums and float steps are the eight-row tile's.
AVX512 static inline __m128i two_halves(const uint8_t *p0, const uint8_t *p1) {
    return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)p0), _mm_loadl_epi64((const __m128i *)p1));
}

AVX512 __attribute__((always_inline)) static inline void q4_K_x16_tile(const uint8_t *w0, const uint8_t *w1, int nb,
                                                                     const uint8_t *const a[4], const int nc, float *out,
                                                                     int out_stride) {
    __m512 acc[4], accm[4];
    for (int c = 0; c < nc; c++) acc[c] = accm[c] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb0 = w0 + (size_t)b * 1184, *wb1 = w1 + (size_t)b * 1184;
        const uint8_t *ab[4];
        for (int c = 0; c < nc; c++) ab[c] = a[c] + (size_t)b * 292;
        __m512i isum[4], msum[4];
        for (int c = 0; c < nc; c++) isum[c] = msum[c] = _mm512_setzero_si512();
        for (int chunk = 0; chunk < 4; chunk++) {
            const uint8_t *q0 = wb0 + 160 + 256 * chunk, *q1 = wb1 + 160 + 256 * chunk;
            __m512i lo[8], hi[8];
            for (int j = 0; j < 8; j++) {
                const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(q0 + 32 * j))),
                                                     _mm256_loadu_si256((const __m256i *)(q1 + 32 * j)), 1);
                lo[j] = _mm512_and_si512(z, m4);
                hi[j] = _mm512_andnot_si512(m4, z);  // high nibbles x16, shifted back below
            }
            const __m512i sl = _mm512_cvtepu8_epi32(two_halves(wb0 + 32 + 16 * chunk, wb1 + 32 + 16 * chunk));
            const __m512i sh = _mm512_cvtepu8_epi32(two_halves(wb0 + 40 + 16 * chunk, wb1 + 40 + 16 * chunk));
            for (int c = 0; c < nc; c++) {
                const uint8_t *y = ab[c] + 4 + 64 * chunk;
                __m512i l32 = _mm512_setzero_si512(), h32 = _mm512_setzero_si512();
                for (int j = 0; j < 8; j++) {
                    l32 = _mm512_dpbusd_epi32(l32, lo[j], _mm512_set1_epi32(load32(y + 4 * j)));
                    h32 = _mm512_dpbusd_epi32(h32, hi[j], _mm512_set1_epi32(load32(y + 32 + 4 * j)));
                }
                isum[c] = _mm512_add_epi32(isum[c], _mm512_add_epi32(_mm512_mullo_epi32(l32, sl),
                                                                     _mm512_mullo_epi32(_mm512_srai_epi32(h32, 4), sh)));
            }
        }
        for (int sub = 0; sub < 8; sub++) {
            const __m512i x = _mm512_cvtepu8_epi32(two_halves(wb0 + 96 + 8 * sub, wb1 + 96 + 8 * sub));
            const __m512i mins = _mm512_or_si512(x, _mm512_slli_epi32(x, 16));
            for (int c = 0; c < nc; c++)
                msum[c] = _mm512_add_epi32(msum[c], _mm512_madd_epi16(mins, _mm512_set1_epi32(load32(ab[c] + 260 + 4 * sub))));
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)wb0)),
                                                                 _mm_loadu_si128((const __m128i *)wb1), 1));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(wb0 + 16))), _mm_loadu_si128((const __m128i *)(wb1 + 16)), 1));
        for (int c = 0; c < nc; c++) {
            float da;
            memcpy(&da, ab[c], 4);
            const __m512 vda = _mm512_set1_ps(da);
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, vda), acc[c]);
            accm[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(msum[c]), _mm512_mul_ps(dmin, vda), accm[c]);
        }
    }
    for (int c = 0; c < nc; c++) _mm512_storeu_ps(out + (size_t)c * out_stride, _mm512_sub_ps(acc[c], accm[c]));
}

AVX512 static void q4_K_x8_matvec_512(const uint8_t *w, int groups, const uint8_t *a, int a_stride, int ncols, int nb, float *out,
                                      int out_stride) {
    // Group pairs for prompts only: for one column (decode, weights streamed from memory) the
    // pairs measured twice as slow as single groups in a Gemma decode profile (302-328 samples
    // against 170), which match the AVX2 kernel there (memory-bound).
    int g = 0;
    for (; ncols > 1 && g + 2 <= groups; g += 2) {
        const uint8_t *wg = w + (size_t)g * nb * 1184, *wg1 = wg + (size_t)nb * 1184;
        for (int c0 = 0; c0 < ncols; c0 += 4) {
            const uint8_t *cols[4];
            const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
            for (int c = 0; c < nc; c++) cols[c] = a + (size_t)(c0 + c) * a_stride;
            float *o = out + (size_t)c0 * out_stride + g * 8;
            switch (nc) {
            case 4: q4_K_x16_tile(wg, wg1, nb, cols, 4, o, out_stride); break;
            case 3: q4_K_x16_tile(wg, wg1, nb, cols, 3, o, out_stride); break;
            case 2: q4_K_x16_tile(wg, wg1, nb, cols, 2, o, out_stride); break;
            default: q4_K_x16_tile(wg, wg1, nb, cols, 1, o, out_stride); break;
            }
        }
    }
    for (; g < groups; g++) {
        const uint8_t *wg = w + (size_t)g * nb * 1184;
        for (int c0 = 0; c0 < ncols; c0 += 4) {
            const uint8_t *cols[4];
            const int nc = ncols - c0 < 4 ? ncols - c0 : 4;
            for (int c = 0; c < nc; c++) cols[c] = a + (size_t)(c0 + c) * a_stride;
            float *o = out + (size_t)c0 * out_stride + g * 8;
            switch (nc) {
            case 4: q4_K_x8_tile_512(wg, nb, cols, 4, o, out_stride); break;
            case 3: q4_K_x8_tile_512(wg, nb, cols, 3, o, out_stride); break;
            case 2: q4_K_x8_tile_512(wg, nb, cols, 2, o, out_stride); break;
            default: q4_K_x8_tile_512(wg, nb, cols, 1, o, out_stride); break;
            }
        }
    }
}

int pl_q4_K_x8_matvec_avx512(const void *w, int groups, const void *a, int a_stride, int ncols, int n, float *out, int out_stride) {
    if (!pl_gemma512_on() || n % 256) return 0;
    q4_K_x8_matvec_512(w, groups, a, a_stride, ncols, n / 256, out, out_stride);
    return 1;
}

// ---- Q8_K activations ----
// quantize_row_q8_K_ref, vectorised: the same amax (first element of largest magnitude on
// ties), iscale = -127/max, q = min(round-half-even(iscale * x), 127), d = 1/iscale, and the
// sixteen sums of 16; every step is the reference's IEEE operation, so the bytes are equal.
AVX512 static void quantize_q8_K_512(const float *x, uint8_t *o, int nblocks) {
    for (int b = 0; b < nblocks; b++, x += 256, o += 292) {
        __m512 vmax = _mm512_setzero_ps();
        for (int j = 0; j < 256; j += 16) vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + j)), vmax);  // a NaN is skipped, as in the reference
        const float amax = _mm512_reduce_max_ps(vmax);
        if (amax == 0) {
            memset(o, 0, 292);
            continue;
        }
        float max = 0;
        for (int j = 0; j < 256; j++) {
            if (__builtin_fabsf(x[j]) == amax) {
                max = x[j];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m512 vs = _mm512_set1_ps(iscale);
        int8_t *qs = (int8_t *)(o + 4);
        for (int j = 0; j < 256; j += 16) {
            const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(vs, _mm512_loadu_ps(x + j)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            const __m512i v = _mm512_min_epi32(_mm512_cvtps_epi32(r), _mm512_set1_epi32(127));
            const __m128i q = _mm512_cvtepi32_epi8(v);
            _mm_storeu_si128((__m128i *)(qs + j), q);
            const int16_t s16 = (int16_t)_mm512_reduce_add_epi32(v);
            memcpy(o + 260 + 2 * (j / 16), &s16, 2);
        }
        const float d = 1 / iscale;
        memcpy(o, &d, 4);
    }
}

int pl_quantize_q8_K_avx512(const float *x, void *out, int n) {
    if (!pl_gemma512_on() || n % 256) return 0;
    quantize_q8_K_512(x, out, n / 256);
    return 1;
}

// ---- Q6_K prompt columns ----
// AVX2 (dot_q6_K_q8_K_cols_avx2, after ggml's Q6_K kernel): per block and 32-element piece,
// the 6-bit quants (unsigned, 0..63) times the activations by maddubs into i16 pairs, times
// the piece's two scales by madd into i32 lanes, summed over the block; less the lanes'
// 32 * (bsums x scales); then acc = fma(da * dw, lanes, acc) and hsum8. Here vpdpwssd does
// madd and add in one instruction, and each block's unpacked quants and scale vectors serve
// eight columns (sixteen more vector registers under AVX-512 VL). The integer lanes are the
// AVX2 kernel's (exact in any order) and each column's float steps are its steps.
AVX512 __attribute__((always_inline)) static inline void q6_K_cols_512(const uint8_t *w, const uint8_t *a, int a_stride,
                                                                     int nc, int nb, float *out) {
    __m256 acc[8];
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 210) {
        const __m128i scales = _mm_loadu_si128((const __m128i *)(w + 192));
        __m256i sumi[8];
        for (int c = 0; c < nc; c++) sumi[c] = _mm256_setzero_si256();
        for (int j = 0; j < 2; j++) {
            __m256i x[4], s[4];
            q6_K_half(w, j, x);
            q6_K_piece_scales(scales, j, s);
            for (int c = 0; c < nc; c++) {
                const uint8_t *q8 = a + (size_t)c * a_stride + (size_t)b * 292 + 4 + 128 * j;
                __m256i sum = sumi[c];
                for (int t = 0; t < 4; t++)
                    sum = _mm256_dpwssd_epi32(sum, s[t], _mm256_maddubs_epi16(x[t], _mm256_loadu_si256((const __m256i *)(q8 + 32 * t))));
                sumi[c] = sum;
            }
        }
        const __m256i scales16 = _mm256_cvtepi8_epi16(scales);
        const __m256 dw = f16_bcast(w + 208);
        for (int c = 0; c < nc; c++) {
            const uint8_t *ab = a + (size_t)c * a_stride + (size_t)b * 292;
            const __m256i total = _mm256_sub_epi32(sumi[c], q6_K_bias(ab, scales16));
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_broadcastss_ps(_mm_load_ss((const float *)ab)), dw),
                                     _mm256_cvtepi32_ps(total), acc[c]);
        }
    }
    for (int c = 0; c < nc; c++) out[c] = hsum8(acc[c]);
}

AVX512 static void q6_K_cols_any(const uint8_t *w, const uint8_t *a, int a_stride, int ncols, int nb, float *out) {
    switch (ncols) {  // constant column counts, so the accumulators stay in registers
    case 8: q6_K_cols_512(w, a, a_stride, 8, nb, out); break;
    case 7: q6_K_cols_512(w, a, a_stride, 7, nb, out); break;
    case 6: q6_K_cols_512(w, a, a_stride, 6, nb, out); break;
    case 5: q6_K_cols_512(w, a, a_stride, 5, nb, out); break;
    case 4: q6_K_cols_512(w, a, a_stride, 4, nb, out); break;
    case 3: q6_K_cols_512(w, a, a_stride, 3, nb, out); break;
    case 2: q6_K_cols_512(w, a, a_stride, 2, nb, out); break;
    default: q6_K_cols_512(w, a, a_stride, 1, nb, out); break;
    }
}

int pl_q6_K_cols_avx512(const void *w, const void *a, int a_stride, int ncols, int n, float *out) {
    if (!pl_gemma512_on() || n % 256 || ncols < 1) return 0;
    for (int c0 = 0; c0 < ncols; c0 += 8)
        q6_K_cols_any(w, (const uint8_t *)a + (size_t)c0 * a_stride, a_stride, ncols - c0 < 8 ? ncols - c0 : 8, n / 256, out + c0);
    return 1;
}
