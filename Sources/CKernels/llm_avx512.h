// The AVX-512 float kernels of the LLM decoder (llm_avx512.c), in the operation order of
// llama.cpp's native build on an AVX-512 CPU (ggml compiled with -march=native: GGML_F32_EPR 16,
// GGML_F32_STEP 64, the __m512 ggml_v_expf, GCC's _mm512_reduce_add_ps tree). Internal to
// CKernels: llm_ops.c calls them when pl_isa_now() is PL_ISA_AVX512.
#ifndef PL_LLM_AVX512_H
#define PL_LLM_AVX512_H

#include "ckernels.h"
#include "simd.h"

// Compiles one function for AVX-512 F/BW/VL (and the AVX2 set below it); callers choose it
// at run time, so the binary still runs on an AVX2-only CPU.
#define PL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

// pl_attention_head_avx512 for `group` query heads sharing one KV head, q and out one head after
// another (d apart), each head bit for bit the single-head kernel's; keys and values are read
// once for every four heads. d a multiple of 64; scratch: min(group, 4) * (2 * padded64(n_kv) + d) floats.
void pl_attention_group_avx512(const float *q, int group, const uint16_t *keys, int key_stride,
                               const uint16_t *values_t, int value_stride, int first, int n_kv, int d,
                               float scale, float *out, float *scratch);

// True where this thread takes the AVX-512 path.
static inline int pl_use_avx512(void) { return pl_isa_now() >= PL_ISA_AVX512; }

// ggml_vec_swiglu_f32 (AVX-512 branch): 16 lanes of x / (1 + v_expf(-x)) * up, scalar tail.
void pl_swiglu_avx512(const float *gate, const float *up, float *y, int n);

// ggml_vec_soft_max_f32 (AVX-512 branch): y = v_expf(x - max) by 16, each 16's sum by
// _mm512_reduce_add_ps added to a double; the tail (n % 16) by libm expf.
double pl_softmax_exp_avx512(const float *x, float *y, float max, int n);

// ggml_vec_dot_f16 (AVX-512 branch): four 16-lane FMA accumulators over steps of 64, reduced
// (a0+a2)+(a1+a3) and by the reduce_add tree, then the n % 64 leftovers added in double.
float pl_dot_f16_avx512(const uint16_t *x, const uint16_t *y, int n);

// pl_attention_head_window on the AVX-512 path. The value products run over n_kv rounded up to
// 64 with zeros (masked loads), as llama.cpp's n_kv is padded to 256 positions.
void pl_attention_head_avx512(const float *q, const uint16_t *keys, int key_stride, const uint16_t *values_t,
                              int value_stride, int first, int n_kv, int d, float scale, float *out, float *scratch);

// pl_attention_head_avx512 for `group` query heads sharing one KV head, q and out one head after
// another (d apart), each head bit for bit the single-head kernel's; keys and values are read
// once for every four heads. d a multiple of 64; scratch: min(group, 4) * (2 * padded64(n_kv) + d) floats.
void pl_attention_group_avx512(const float *q, int group, const uint16_t *keys, int key_stride,
                               const uint16_t *values_t, int value_stride, int first, int n_kv, int d,
                               float scale, float *out, float *scratch);

// True where this thread takes the AVX-512 path and the CPU has AVX-512 VNNI.
static inline int pl_use_avx512_vnni(void) { return pl_use_avx512() && (pl_cpu_features() & PL_CPU_AVX512VNNI); }

// pl_matvec_x8's two kernels for Q4_1 (type 3) and Q8_0 (type 8) with vpdpbusd for the integer
// products, every output bit-identical to the AVX2 kernels' (quant_x8.c's driver runs either pair):
// one x8 group against one activation column, and against four (`table`: the driver's scratch).
void pl_x8_group_vnni(int type, const uint8_t *w, const uint8_t *a, const float *ad, const float *as, int nb, float *out);
void pl_x8_cols4_vnni(int type, const uint8_t *w, const uint8_t *const a[4], const float *const ad[4],
                      const float *const as[4], int nb, float *table, float out[4][8]);

#endif
