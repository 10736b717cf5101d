// Kernels of the speech and vision encoders kept apart from ckernels.h (attention_ops.c).
#pragma once
#include <stdint.h>

/// kt[c * ldkt + j] = k[j * ldk + c] for `keys` rows of `d` floats (a head's keys, transposed
/// for pl_attention_rows), zero for j in keys..<ldkt. ldkt >= keys, a multiple of 16 for
/// the AVX2 kernel.
void pl_pack_keys_t(const float *k, int ldk, int keys, int d, float *kt, int ldkt);

/// A head's values in panels of 16 columns: vp[(c / 16 · 16) · keys + j · 16 + c % 16] =
/// v[j * ldv + c] (zero past d), ceil(d / 16) · 16 · keys floats, so the value product reads
/// contiguous memory.
void pl_pack_values(const float *v, int ldv, int keys, int d, float *vp);

/// One head's attention for `rows` query rows (ldq apart) over `keys` keys given transposed
/// (pl_pack_keys_t) and values packed (pl_pack_values): out[r] = softmax(scale · q[r] · Kᵀ) · V,
/// d floats per row written ldo apart. scratch holds 16 · ldkt floats. AVX2/FMA when the CPU
/// has it and d is a multiple of 16 up to 128, else portable.
void pl_attention_rows(const float *q, int ldq, const float *kt, int ldkt, const float *vp, int rows, int keys,
                       int d, float scale, float *out, int ldo, float *scratch);

/// One query's attention over `keys` key and value rows in place (ldk, ldv apart), for short
/// caches that are not worth packing: out[0..<d] = softmax(scale · q · Kᵀ) · V. scratch holds
/// `keys` floats. AVX2/FMA when the CPU has it and d is a multiple of 16, else portable.
void pl_attention_one(const float *q, const float *k, int ldk, const float *v, int ldv, int keys, int d, float scale,
                      float *out, float *scratch);

/// Packs a row-major [m, k] weight matrix for pl_conv_gemm: rows in groups of 4,
/// packed[(g · k + p) · 4 + r] = w[(4g + r) · k + p], zero rows past m;
/// ceil(m / 4) · 4 · k floats.
void pl_pack_weights_rows4(const float *w, int m, int k, float *packed);

/// Columns n0..<n1 of out[m, ·] (rows ldc apart) = act(W · X + bias (+ skip)) for weights packed
/// by pl_pack_weights_rows4 and X [k, ·] (rows ldx apart); skip (may be NULL) has out's layout;
/// act is ReLU6 when relu6_on. scratch holds k · 24 · ceil((n1 − n0) / 24) floats. AVX2/FMA
/// when the CPU has it, else portable.
void pl_conv_gemm(const float *wp, int m, int k, const float *x, long ldx, long n0, long n1, const float *bias,
                  const float *skip, int relu6_on, float *out, long ldc, float *scratch);

// ---- AVX-512 variants (encoder_avx512.c) ----
// Each computes what the kernel it stands in for computes (above, and in ckernels.h), with
// AVX-512 F/BW/VL; the dispatch in conv_gemm.c, conv_ops.c and encoder_ops.c calls them only
// where pl_enc512_active() is 1. Tests call them directly, where pl_enc512_cpu() is 1.

/// 1 when this CPU (and its OS) runs the AVX-512 encoder kernels: the avx512 path is usable
/// (AVX-512 F, BW, VL and the AVX2 set).
int pl_enc512_cpu(void);
/// 1 when the AVX-512 encoder kernels run on this thread: its path is PL_ISA_AVX512.
int pl_enc512_active(void);

/// pl_conv_gemm for columns n0..<n1 with an 8 x 32 tile, packing its panels in memory of its own
/// (returns 1); 0, with nothing written, for an empty product or when out of memory.
int pl_conv_gemm_avx512(const float *wp, int m, int k, const float *x, long ldx, long n0, long n1,
                        const float *bias, const float *skip, int relu6_on, float *out, long ldc);
/// pl_depthwise_conv for k 3 or 5 and stride 1 or 2 (returns 1); 0, with nothing written, for
/// other shapes or when out of memory.
int pl_depthwise_conv_avx512(const float *in, int channels, int images, int h, int w, const float *weight, int k,
                             int stride, int pad_top, int pad_left, int oh, int ow, const float *bias, int relu6_on,
                             float *out);
/// pl_add_bias, pl_bias_gelu, pl_layer_norm and pl_softmax_rows with AVX-512.
void pl_add_bias_avx512(float *x, int rows, int cols, const float *bias);
void pl_bias_gelu_avx512(float *x, int rows, int cols, const float *bias);
void pl_layer_norm_avx512(float *x, int rows, int cols, const float *gamma, const float *beta, float eps);
void pl_softmax_rows_avx512(float *x, int rows, int cols, int ld);

// ---- BF16 products (bf16_gemm.c) ----
// The linear layers of the text encoder with bfloat16 inputs and float32 accumulation, on
// AVX512_BF16 only; callers use sgemm wherever pl_bf16_gemm_active() is 0.

/// 1 when this CPU runs the BF16 product: the AVX-512 path is usable and it has AVX512_BF16.
int pl_bf16_gemm_cpu(void);
/// 1 when the BF16 product runs on this thread: its path is PL_ISA_AVX512 and the CPU has
/// AVX512_BF16.
int pl_bf16_gemm_active(void);
/// The uint16 count pl_bf16_pack_weights writes for an [n, k] weight: ceil(n / 16) · 16 ·
/// (k rounded up to even).
long pl_bf16_packed_count(int n, int k);
/// Packs a row-major [n, k] float weight (PyTorch's [out, in]) as bfloat16 (as pl_bf16_round_rows) in
/// panels of 16 rows of w: packed[(j / 16 · 16) · kp + p · 32 + j % 16 · 2 + e] = w[j, 2p + e],
/// kp = k rounded up to even, zero past n and k.
void pl_bf16_pack_weights(const float *w, int n, int k, uint16_t *packed);
/// Rounds `rows` rows of k floats (ldx apart) to bfloat16 (nearest even; subnormals to zero, as
/// vcvtneps2bf16) rows ldo apart, with a zero after the last when k is odd. AVX512_BF16 where pl_bf16_gemm_active(), else portable;
/// the two agree bit for bit.
void pl_bf16_round_rows(const float *x, long ldx, int rows, int k, uint16_t *out, long ldo);
/// c[rows, n] (rows ldc apart) = a · wᵀ, plus what c held when accumulate: a holds `rows` rows
/// of bfloat16 (pl_bf16_round_rows; lda even, 4-byte aligned), wp an [n, k] weight packed by
/// pl_bf16_pack_weights. Returns 1. Each row's result depends only on that row of a.
int pl_gemm_bf16_avx512(const uint16_t *a, long lda, int rows, const uint16_t *wp, int n, int k, float *c, long ldc,
                        int accumulate);
/// pl_gemm_bf16_avx512's plain twin: the same products in the same order, in C.
void pl_gemm_bf16_ref(const uint16_t *a, long lda, int rows, const uint16_t *wp, int n, int k, float *c, long ldc,
                      int accumulate);
