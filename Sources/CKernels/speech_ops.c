// Matrix-vector products with half-precision weights for the Whisper decoder: the weights
// are F16 in the model file, so widening them exactly (F16C) and multiplying in float gives
// the same products as float copies of the weights, while reading half the bytes per token.
// The portable twin is plain C.
#include "ckernels.h"
#include "simd.h"
#include <immintrin.h>


static void gemv_f16_portable(const uint16_t *w, int rows, int cols, const float *x, float *y, int accumulate) {
    for (int r = 0; r < rows; r++) {
        const uint16_t *row = w + (long)r * cols;
        float sum = 0;
        for (int c = 0; c < cols; c++) sum += h2f_scalar(row[c]) * x[c];
        y[r] = accumulate ? y[r] + sum : sum;
    }
}

AVX2 static void gemv_f16_avx2(const uint16_t *w, int rows, int cols, const float *x, float *y, int accumulate) {
    const int body = cols / 32 * 32;
    for (int r = 0; r < rows; r++) {
        const uint16_t *row = w + (long)r * cols;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int c = 0; c < body; c += 32) {
            for (int j = 0; j < 4; j++) {
                const __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c + 8 * j)));
                acc[j] = _mm256_fmadd_ps(a, _mm256_loadu_ps(x + c + 8 * j), acc[j]);
            }
        }
        const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
        float sum = hsum8(s);
        for (int c = body; c < cols; c++) sum += h2f_scalar(row[c]) * x[c];
        y[r] = accumulate ? y[r] + sum : sum;
    }
}

void pl_gemv_f16(const uint16_t *w, int rows, int cols, const float *x, float *y, int accumulate) {
    if (pl_kernels_portable()) gemv_f16_portable(w, rows, cols, x, y, accumulate);
    else gemv_f16_avx2(w, rows, cols, x, y, accumulate);
}
