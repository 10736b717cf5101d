// Helpers the kernel files share (quant_dot.c, quant_x8.c, llm_ops.c, speech_ops.c). Internal
// to CKernels: not in include/, so Swift never sees it.
#ifndef PL_SIMD_H
#define PL_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

// Compiles one function for AVX2/FMA/F16C; callers choose it at run time (pl_isa_now).
#define AVX2 __attribute__((target("avx2,fma,f16c")))

// The dispatch state of isa.c: the process-wide path and a per-thread override (-1: none).
extern int pl_isa_process;
extern _Thread_local int pl_isa_thread_override;

// The path kernels take on this thread (PL_ISA_PORTABLE, PL_ISA_AVX2, ...): the one question
// every kernel asks before it picks its SIMD or portable body.
static inline int pl_isa_now(void) {
    return pl_isa_thread_override >= 0 ? pl_isa_thread_override : pl_isa_process;
}

// True where the AVX2 kernels run on this thread (also under a wider path, until it has its own).
static inline int pl_use_avx2(void) { return pl_isa_now() >= 1; }

// The sum of 8 lanes in ggml's hsum_float_8 order, ((x0+x4)+(x2+x6)) + ((x1+x5)+(x3+x7)):
// results bit-identical to llama.cpp depend on this exact order.
AVX2 static inline float hsum8(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

// IEEE half (bits) to float, exactly.
static inline float h2f_scalar(uint16_t h) {
    _Float16 v;
    memcpy(&v, &h, 2);
    return (float)v;
}

// Float to IEEE half (bits), rounding to nearest even.
static inline uint16_t f2h_scalar(float f) {
    _Float16 v = (_Float16)f;
    uint16_t h;
    memcpy(&h, &v, 2);
    return h;
}

#endif
