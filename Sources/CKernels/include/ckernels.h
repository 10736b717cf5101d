#ifndef PIPELINE_CKERNELS_H
#define PIPELINE_CKERNELS_H
#include <stdint.h>

/// 1 when this CPU runs the AVX2/FMA/F16C kernels (checked once at run time).
int pl_cpu_has_avx2(void);

/// Forces the portable kernels (for tests comparing both); 0 restores dispatch.
void pl_force_portable(int on);

/// Dot products of n elements (whole blocks) of ggml-layout weight blocks with activation
/// blocks: Q8_0 x Q8_0 (34-byte blocks), Q4_0 x Q8_0, Q4_1 (20 bytes) x Q8_1 (36 bytes).
float pl_dot_q8_0_q8_0(const void *w, const void *a, int n);
float pl_dot_q4_0_q8_0(const void *w, const void *a, int n);
float pl_dot_q4_1_q8_1(const void *w, const void *a, int n);

/// x[r, c] += bias[c] for a row-major [rows, cols] matrix.
void pl_add_bias(float *x, int rows, int cols, const float *bias);

/// x = gelu(x + bias) with the exact (erf) GELU, row-major [rows, cols].
void pl_bias_gelu(float *x, int rows, int cols, const float *bias);

/// LayerNorm of each row in place: (x - mean) / sqrt(var + eps) * gamma + beta.
void pl_layer_norm(float *x, int rows, int cols, const float *gamma, const float *beta, float eps);

/// Softmax of each row in place (the first `cols` of rows `ld` apart), max-subtracted.
void pl_softmax_rows(float *x, int rows, int cols, int ld);

#endif
