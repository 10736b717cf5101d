// Kernels of the speech and vision encoders kept apart from ckernels.h (attention_ops.c).
#pragma once

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
