#ifndef PIPELINE_CKERNELS_H
#define PIPELINE_CKERNELS_H
#include <stdint.h>

/// CPU features as cpuid reports them and the OS enables them (xgetbv): a bit set only where
/// the kernels could use it.
enum {
    PL_CPU_AVX2 = 1 << 0,
    PL_CPU_FMA = 1 << 1,
    PL_CPU_F16C = 1 << 2,
    PL_CPU_AVX512F = 1 << 3,
    PL_CPU_AVX512BW = 1 << 4,
    PL_CPU_AVX512VL = 1 << 5,
    PL_CPU_AVX512VNNI = 1 << 6,
    PL_CPU_AVX512BF16 = 1 << 7,
};
unsigned pl_cpu_features(void);

/// The kernel paths (isa.c). PL_ISA_AVX512 (F/BW/VL with AVX2/FMA/F16C) runs the AVX-512 kernels
/// where a kernel has one (llm_avx512.c: the decoder's float ops in the order of llama.cpp's
/// native AVX-512 build) and the AVX2 kernels elsewhere.
enum { PL_ISA_PORTABLE = 0, PL_ISA_AVX2 = 1, PL_ISA_AVX512 = 2 };
/// The fastest built path this CPU runs (what `auto` picks).
int pl_isa_best(void);
/// 1 when the path is built and this CPU runs it.
int pl_isa_usable(int isa);
/// Chooses the path for the whole process; 0 (nothing changed) where it is not usable.
int pl_isa_set(int isa);
/// The path kernels take on the calling thread.
int pl_isa_current(void);
/// Overrides the path on the calling thread only (tests comparing twins); -1 removes the override.
void pl_isa_force_thread(int isa);
/// The calling thread's override, or -1.
int pl_isa_thread_path(void);

/// 1 when this CPU runs the AVX2/FMA/F16C kernels.
int pl_cpu_has_avx2(void);
/// pl_isa_force_thread(PL_ISA_PORTABLE) when on, else removes the override.
void pl_force_portable(int on);
/// 1 when the portable kernels run on this thread.
int pl_kernels_portable(void);

/// Dot products of n elements (whole blocks) of ggml-layout weight blocks with activation
/// blocks: Q8_0 x Q8_0 (34-byte blocks), Q4_0 x Q8_0, Q4_1 (20 bytes) x Q8_1 (36 bytes).
float pl_dot_q8_0_q8_0(const void *w, const void *a, int n);
float pl_dot_q4_0_q8_0(const void *w, const void *a, int n);
float pl_dot_q4_1_q8_1(const void *w, const void *a, int n);

/// Gemma 3's types, in the float order of the ggml kernels llama.cpp runs on AVX2 (the
/// portable twins give the same bits): Q5_0 (22-byte blocks) x Q8_0; Q6_K (210 bytes) x Q8_K
/// (292 bytes); Q4_K (144 bytes) x Q8_K as the repacked 8-row gemv computes each row.
float pl_dot_q5_0_q8_0(const void *w, const void *a, int n);
float pl_dot_q6_K_q8_K(const void *w, const void *a, int n);
float pl_dot_q4_K_q8_K(const void *w, const void *a, int n);

/// Quantizes n floats (whole 256-blocks) to Q8_K as ggml's quantize_row_q8_K_ref: f32 d,
/// 256 x i8 with the largest-magnitude element at -127, 16 x i16 sums of 16.
void pl_quantize_q8_K(const float *x, void *out, int n);

/// One weight row (ggml type id: 3 = Q4_1, 8 = Q8_0) against `ncols` activation rows
/// `a_stride` bytes apart; out[c] is bit-identical to the single-column kernel. Returns 0
/// (nothing written) where there is no such kernel for the type or CPU.
int pl_dot_cols(int type, const void *w, const void *a, int a_stride, int ncols, int n, float *out);

/// out[c * out_stride + r] = row r (of `nrows`, `row_bytes` apart) · activation column c (of
/// `ncols`, `a_stride` bytes apart), tiled for cache reuse; each bit-identical to the single
/// dot. Returns 0 (nothing written) where no kernel exists for the type or CPU (Q5_0 with one
/// column: only the AVX-512 matrix-vector kernel, else 0 and callers take the single dot).
int pl_matmul_cols(int type, const void *w, int row_bytes, int nrows, const void *a, int a_stride, int ncols, int n,
                   float *out, int out_stride);

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

/// pl_attention_head with keys before position `first` masked out (a sliding window).
void pl_attention_head_window(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                              int value_stride, int first, int n_kv, int d, float scale, float *out, float *scratch);

/// pl_attention_head_window for `group` query heads that share the KV head (grouped-query
/// attention; q and out: one head after another, d apart), each head's output bit for bit what
/// pl_attention_head_window gives it. On the AVX-512 path (d a multiple of 64) the keys and
/// values are read once for every four heads. scratch: room for
/// group * (2 * padded64(n_kv) + d) floats, padded64(n) rounding n up to 64.
void pl_attention_group(const float *q, int group, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                        int value_stride, int first, int n_kv, int d, float scale, float *out, float *scratch);

/// y[i] = gelu_tanh(gate[i]) * up[i] as ggml_vec_geglu_f32 computes it (f16 GELU table).
void pl_geglu(const float *gate, const float *up, float *y, int n);
/// ggml's RMSNorm times the weight over `rows` rows of n floats (out may be x); see llm_ops.c.
void pl_rms_norm(const float *x, const float *w, float *out, int n, int rows, float eps);

/// Copies the 65536-entry f16 GELU table (for checking it against ggml's).
void pl_gelu_table(uint16_t *out);

/// y[i * stride] = f16(x[i]) (round to nearest even) for n values.
void pl_f32_to_f16(const float *x, uint16_t *y, int n, int stride);
/// ggml's RoPE rotation of `heads` heads in place: (x[i], x[i + half]) pairs with neox, else
/// (x[2i], x[2i + 1]), by the cosines and sines of the position's `half` angles.
void pl_rope(float *x, int heads, int half, const float *cs, const float *sn, int neox);
/// The index of the first largest of n floats (NaNs never chosen unless at 0), as a plain loop.
int pl_argmax(const float *x, int n);

/// x[r, c] += bias[c] for a row-major [rows, cols] matrix.
void pl_add_bias(float *x, int rows, int cols, const float *bias);

/// x = gelu(x + bias) with the exact (erf) GELU, row-major [rows, cols].
void pl_bias_gelu(float *x, int rows, int cols, const float *bias);

/// LayerNorm of each row in place: (x - mean) / sqrt(var + eps) * gamma + beta.
void pl_layer_norm(float *x, int rows, int cols, const float *gamma, const float *beta, float eps);

/// Softmax of each row in place (the first `cols` of rows `ld` apart), max-subtracted.
void pl_softmax_rows(float *x, int rows, int cols, int ld);

/// Depthwise convolution over channel-major input [channels][images][h][w]: every plane of
/// channel c with the k x k filter weight[c], stride `stride`, zero padding pad_top/pad_left
/// before (and as needed after), into [channels][images][oh][ow], plus bias[c] (bias may be
/// NULL) and then ReLU6 when relu6_on. AVX2/FMA when the CPU has it, else portable.
void pl_depthwise_conv(const float *in, int channels, int images, int h, int w, const float *weight, int k,
                       int stride, int pad_top, int pad_left, int oh, int ow, const float *bias, int relu6_on,
                       float *out);

/// x[c, i] = act(x[c, i] + bias[c] (+ skip[c, i])) for `channels` rows of `len`; act is
/// ReLU6 (clamp to [0, 6]) when relu6_on, else identity; skip may be NULL.
void pl_channel_bias_act(float *x, int channels, long len, const float *bias, int relu6_on, const float *skip);

/// x[c, i] = bias[c] (+ skip[c, i]): the starting value of a GEMM run with beta = 1, which
/// then adds the product (OpenBLAS skips its beta pass when beta is 1); skip may be NULL.
void pl_channel_fill(float *x, int channels, long len, const float *bias, const float *skip);

/// x[i] = min(max(x[i], 0), 6).
void pl_relu6(float *x, long n);

/// im2col for a dense k x k convolution over channel-major input [channels][planes][h][w]:
/// cols[(c*k + ky)*k + kx][p][oy][ox], zero where the window falls in the padding.
void pl_im2col(const float *in, int channels, int planes, int h, int w, int k, int stride, int pad_top,
               int pad_left, int oh, int ow, float *cols);

/// out[p] = mean of row p (len floats), summed in double.
void pl_plane_means(const float *x, int planes, long len, float *out);
/// y[r] = (accumulate ? y[r] : 0) + sum_c w[r, c] * x[c] for row-major F16 weights [rows, cols],
/// widened exactly to float (Whisper's decoder: half the bytes of float weights per token).
void pl_gemv_f16(const uint16_t *w, int rows, int cols, const float *x, float *y, int accumulate);


/// Weights repacked eight rows at a time for matrix-vector products and prompt GEMMs
/// (quant_x8.c): bytes per 32 elements of a group of 8 rows for a ggml type id (3 = Q4_1: 160,
/// 8 = Q8_0: 272, 12 = Q4_K: 148, stored as 1184-byte blocks of 256; 0 = no layout).
int pl_x8_block_bytes(int type);
/// Copies `rows` (a multiple of 8) rows of n elements, `row_bytes` apart, into the x8 layout
/// at dst (rows / 8 * n / 32 * pl_x8_block_bytes(type) bytes). Returns 0 when unsupported.
int pl_repack_x8(int type, const void *src, int row_bytes, int rows, int n, void *dst);
/// out[c * out_stride + r] = row r of `groups` x8 groups · activation column c (of `ncols`,
/// `a_stride` bytes apart), each bit-identical to the one-row AVX2 dot product. Returns 0
/// (nothing written) when the AVX2 kernels are not the path on this thread.
int pl_matvec_x8(int type, const void *w, int groups, const void *a, int a_stride, int ncols, int n, float *out,
                 int out_stride);

/// AVX-512/VNNI kernels for Gemma 3's types (quant_avx512_k.c), each bit-identical to the AVX2
/// kernel it stands in for. pl_gemma512_on(): they run on this thread (the thread's path is
/// avx512, the CPU also has VNNI, and no test switched them off). pl_gemma512_set(on) flips
/// that in-process switch and returns the previous state; pl_gemma512_available(): the CPU has
/// the features.
int pl_gemma512_available(void);
int pl_gemma512_enabled(void);
int pl_gemma512_set(int on);
int pl_gemma512_on(void);
/// As pl_matmul_cols for Q5_0; 0 (nothing written) where the kernels are off.
int pl_q5_0_matmul_avx512(const void *w, int row_bytes, int nrows, const void *a, int a_stride, int ncols, int n, float *out,
                          int out_stride);
/// As pl_quantize_q8_K (the same bytes); 0 (nothing written) where the kernels are off.
int pl_quantize_q8_K_avx512(const float *x, void *out, int n);
/// As pl_dot_cols for Q6_K (type 14), eight columns at a time; 0 (nothing written) where the kernels are off.
int pl_q6_K_cols_avx512(const void *w, const void *a, int a_stride, int ncols, int n, float *out);
/// As pl_matvec_x8 for Q4_K (type 12); 0 (nothing written) where the kernels are off.
int pl_q4_K_x8_matvec_avx512(const void *w, int groups, const void *a, int a_stride, int ncols, int n, float *out, int out_stride);

/// A pool of worker threads for short parallel loops: workers spin `spin_us` microseconds
/// after a run before sleeping, so back-to-back runs start without a wake-up.
typedef struct pl_pool pl_pool;
typedef void (*pl_pool_fn)(void *ctx, int task);
pl_pool *pl_pool_create(int workers, long spin_us);
/// CPUs this process may run on (its affinity mask, as `taskset` sets it).
int pl_available_cpus(void);
void pl_pool_destroy(pl_pool *pool);
int pl_pool_workers(const pl_pool *pool);
/// Runs fn(ctx, i) for i in 0..<tasks on the caller and the workers; returns when all are
/// done. A call made while another run is in progress runs its tasks on the caller alone.
void pl_pool_run(pl_pool *pool, int tasks, pl_pool_fn fn, void *ctx);

#endif
