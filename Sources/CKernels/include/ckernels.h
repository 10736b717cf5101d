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

#endif
