// Row-wise float kernels for the transformer encoders (BERT): bias, LayerNorm, GELU (erf),
// softmax. Plain loops the compiler vectorizes at -O3 (this target is always optimized, so
// debug builds of the models stay usable). Each is tested against a Swift reference in
// Tests/PipelineTensorTests/EncoderOpsTests.swift.
#include "ckernels.h"
#include "encoder_kernels.h"
#include <math.h>

void pl_add_bias(float *x, int rows, int cols, const float *bias) {
    if (pl_enc512_active()) { pl_add_bias_avx512(x, rows, cols, bias); return; }
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int c = 0; c < cols; c++) row[c] += bias[c];
    }
}

// erf(x) in single precision as a rational function (odd degree-13 over even degree-8
// polynomial) on x clamped to [-4, 4], where erf is ±1 in float: the approximation Eigen
// and XLA use, within a few ulp of erff. Unlike libm's erff it has no branches or calls,
// so the loop below vectorizes; libm's erff made GELU a fifth of MiniLM's time.
static inline float erf_rational(float a) {
    float x = a < -4.0f ? -4.0f : (a > 4.0f ? 4.0f : a);
    float x2 = x * x;
    float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
    p = x2 * p + -2.10102402082508e-06f;
    p = x2 * p + -5.69250639462346e-05f;
    p = x2 * p + -7.34990630326855e-04f;
    p = x2 * p + -2.95459980854025e-03f;
    p = x2 * p + -1.60960333262415e-02f;
    p = x * p;
    float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
    q = x2 * q + -1.68282697438203e-03f;
    q = x2 * q + -7.37332916720468e-03f;
    q = x2 * q + -1.42647390514189e-02f;
    return p / q;
}

void pl_bias_gelu(float *x, int rows, int cols, const float *bias) {
    if (pl_enc512_active()) { pl_bias_gelu_avx512(x, rows, cols, bias); return; }
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int c = 0; c < cols; c++) {
            float v = row[c] + bias[c];
            row[c] = 0.5f * v * (1.0f + erf_rational(v * inv_sqrt2));
        }
    }
}

void pl_layer_norm(float *x, int rows, int cols, const float *gamma, const float *beta, float eps) {
    if (pl_enc512_active()) { pl_layer_norm_avx512(x, rows, cols, gamma, beta, eps); return; }
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        double sum = 0;
        for (int c = 0; c < cols; c++) sum += row[c];
        float mean = (float)(sum / cols);
        double sq = 0;
        for (int c = 0; c < cols; c++) {
            float d = row[c] - mean;
            sq += (double)d * d;
        }
        float inv = 1.0f / sqrtf((float)(sq / cols) + eps);
        for (int c = 0; c < cols; c++) row[c] = (row[c] - mean) * inv * gamma[c] + beta[c];
    }
}

void pl_softmax_rows(float *x, int rows, int cols, int ld) {
    if (pl_enc512_active()) { pl_softmax_rows_avx512(x, rows, cols, ld); return; }
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * ld;
        float m = row[0];
        for (int c = 1; c < cols; c++) m = row[c] > m ? row[c] : m;
        float sum = 0;
        for (int c = 0; c < cols; c++) {
            row[c] = expf(row[c] - m);
            sum += row[c];
        }
        float inv = 1.0f / sum;
        for (int c = 0; c < cols; c++) row[c] *= inv;
    }
}
