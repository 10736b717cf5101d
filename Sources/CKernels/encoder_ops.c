// Row-wise float kernels for the transformer encoders (BERT): bias, LayerNorm, GELU (erf),
// softmax. Plain loops the compiler vectorizes at -O3 (this target is always optimized, so
// debug builds of the models stay usable). Each is tested against a Swift reference in
// Tests/PipelineTensorTests/EncoderOpsTests.swift.
#include "ckernels.h"
#include <math.h>

void pl_add_bias(float *x, int rows, int cols, const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int c = 0; c < cols; c++) row[c] += bias[c];
    }
}

void pl_bias_gelu(float *x, int rows, int cols, const float *bias) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        for (int c = 0; c < cols; c++) {
            float v = row[c] + bias[c];
            row[c] = 0.5f * v * (1.0f + erff(v * inv_sqrt2));
        }
    }
}

void pl_layer_norm(float *x, int rows, int cols, const float *gamma, const float *beta, float eps) {
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
