// Q6_K unpacking shared by the AVX2 kernels (quant_dot.c) and the AVX-512 ones (quant_avx512_k.c),
// after ggml's Q6_K x Q8_K kernel: one 128-element half j of a block (ql 64 bytes, qh 32 bytes)
// as four vectors of 32 unsigned 6-bit quants (0..63), and each 32-element piece's two scales
// as sixteen i16s (bytes 2i x8 then 2i+1 x8 of the block's sixteen int8 scales).
#ifndef PL_Q6_K_H
#define PL_Q6_K_H
#include "simd.h"
#include <immintrin.h>

AVX2 static inline __m128i q6_scale_shuffle(int i) {
    return _mm_set_epi8(2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1, 2 * i + 1,
                        2 * i, 2 * i, 2 * i, 2 * i, 2 * i, 2 * i, 2 * i, 2 * i);
}

/// The scales of pieces 4j..4j+3 of a block (`scales`: its sixteen int8 scales) as i16 vectors.
AVX2 static inline void q6_K_piece_scales(__m128i scales, int j, __m256i s[4]) {
    for (int t = 0; t < 4; t++) s[t] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, q6_scale_shuffle(4 * j + t)));
}

/// Half j's quants: x[t] holds elements 128j + 32t .. +31.
AVX2 static inline void q6_K_half(const uint8_t *block, int j, __m256i x[4]) {
    const __m256i m3 = _mm256_set1_epi8(3), m15 = _mm256_set1_epi8(15);
    const uint8_t *q4 = block + 64 * j, *qh = block + 128 + 32 * j;
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)q4), b2 = _mm256_loadu_si256((const __m256i *)(q4 + 32));
    const __m256i bh = _mm256_loadu_si256((const __m256i *)qh);
    x[0] = _mm256_or_si256(_mm256_and_si256(b1, m15), _mm256_slli_epi16(_mm256_and_si256(bh, m3), 4));
    x[1] = _mm256_or_si256(_mm256_and_si256(b2, m15), _mm256_slli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8(12)), 2));
    x[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m15), _mm256_and_si256(bh, _mm256_set1_epi8(48)));
    x[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m15),
                           _mm256_srli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8(-64)), 2));
}

/// The lanes' correction 32 * (bsums[2k] * sc[2k] + bsums[2k+1] * sc[2k+1]) of one block
/// (`q8k`: the Q8_K block, whose sixteen i16 sums start at byte 260).
AVX2 static inline __m256i q6_K_bias(const uint8_t *q8k, __m256i scales16) {
    return _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(q8k + 260)), scales16), 5);
}
#endif
