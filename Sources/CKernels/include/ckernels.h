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

/// One weight row (ggml type id: 3 = Q4_1, 8 = Q8_0) against `ncols` activation rows
/// `a_stride` bytes apart; out[c] is bit-identical to the single-column kernel. Returns 0
/// (nothing written) where there is no such kernel for the type or CPU.
int pl_dot_cols(int type, const void *w, const void *a, int a_stride, int ncols, int n, float *out);

/// `nrows` weight rows `row_bytes` apart against one activation vector, four rows at a time;
/// out[r] is bit-identical to the single-row kernel. Returns 0 (nothing written) where there is
/// no such kernel for the type or CPU.
int pl_dot_rows(int type, const void *w, int row_bytes, int nrows, const void *a, int n, float *out);

/// Quantizes n floats (whole 32-blocks) to Q8_0 (34-byte blocks) or Q8_1 (36-byte blocks:
/// f16 d, f16 d*sum, 32 x i8), scaling by 127/amax and rounding half to even as ggml's x86
/// kernels do.
void pl_quantize_q8_0(const float *x, void *out, int n);
void pl_quantize_q8_1(const float *x, void *out, int n);

/// ggml_vec_dot_f16's order: n a multiple of 32, four 8-lane FMA accumulators, then a fixed
/// reduction tree.
float pl_dot_f16(const uint16_t *x, const uint16_t *y, int n);

/// y[i] = silu(gate[i]) * up[i] with ggml's vector exp approximation.
void pl_swiglu(const float *gate, const float *up, float *y, int n);

/// Writes exp(x[i] - max) to y and returns their sum (in double, summed 8 at a time).
double pl_softmax_exp(const float *x, float *y, float max, int n);

/// One attention head as llama.cpp computes it without flash attention: scores are f16 dots of
/// q (rounded to f16) with the cached keys, scaled, softmaxed, rounded to f16 and dotted with
/// the transposed value rows. keys: n_kv rows of d halves, key_stride halves apart; values_t:
/// d rows of at least padded(n_kv) halves, value_stride apart, zero past n_kv. scratch: room
/// for 2 * padded(n_kv) + d floats. padded(n) rounds n up to 32.
void pl_attention_head(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                       int value_stride, int n_kv, int d, float scale, float *out, float *scratch);

/// x[r, c] += bias[c] for a row-major [rows, cols] matrix.
void pl_add_bias(float *x, int rows, int cols, const float *bias);

/// x = gelu(x + bias) with the exact (erf) GELU, row-major [rows, cols].
void pl_bias_gelu(float *x, int rows, int cols, const float *bias);

/// LayerNorm of each row in place: (x - mean) / sqrt(var + eps) * gamma + beta.
void pl_layer_norm(float *x, int rows, int cols, const float *gamma, const float *beta, float eps);

/// Softmax of each row in place (the first `cols` of rows `ld` apart), max-subtracted.
void pl_softmax_rows(float *x, int rows, int cols, int ld);

/// y[r] = (accumulate ? y[r] : 0) + sum_c w[r, c] * x[c] for row-major F16 weights [rows, cols],
/// widened exactly to float (Whisper's decoder: half the bytes of float weights per token).
void pl_gemv_f16(const uint16_t *w, int rows, int cols, const float *x, float *y, int accumulate);

#endif
