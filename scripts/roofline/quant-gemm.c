// One quantized matrix product timed in isolation, for A/B runs of the CKernels GEMM code
// (scripts/bench-quant-gemm builds it against two revisions). Arguments: ggml type id (6 = Q5_0
// 2048 x 640, 12 = Q4_K 640 x 2048, 14 = Q6_K 640 x 2048), iterations, x8 (1: repack the rows
// eight at a time and use pl_matvec_x8), columns (default 64). Random weights with sane scales,
// random activations quantized by the kernels' own quantizers.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int pl_repack_x8(int type, const void *src, int row_bytes, int rows, int n, void *dst);
int pl_x8_block_bytes(int type);
int pl_matvec_x8(int type, const void *w, int groups, const void *a, int a_stride, int ncols, int n, float *out, int out_stride);
int pl_matmul_cols(int type, const void *w, int row_bytes, int nrows, const void *a, int a_stride, int ncols, int n, float *out, int out_stride);
void pl_quantize_q8_K(const float *x, void *out, int n);
void pl_quantize_q8_0(const float *x, void *out, int n);
static unsigned long long st = 88172645463325252ull;
static unsigned long long rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
static void put_half(uint8_t *p, float f) { _Float16 h = (_Float16)f; memcpy(p, &h, 2); }
int main(int argc, char **argv) {
    int type = atoi(argv[1]), iters = atoi(argv[2]), cols = 64;
    int n = type == 14 || type == 12 ? 2048 : 640, rows = type == 6 ? 2048 : 640;
    int bs = type == 14 ? 256 : type == 12 ? 256 : 32, bb = type == 14 ? 210 : type == 12 ? 144 : 22;
    int nb = n / bs, rb = nb * bb, ab = type == 6 ? 34 : 292, as = n / (type == 6 ? 32 : 256) * ab;
    uint8_t *w = malloc((size_t)rows * rb);
    for (size_t i = 0; i < (size_t)rows * rb; i++) w[i] = rnd();
    for (int r = 0; r < rows; r++) for (int b = 0; b < nb; b++) put_half(w + r * rb + b * bb + (type == 14 ? 208 : 0), 0.01f);
    float *x = malloc(sizeof(float) * n * cols);
    for (int i = 0; i < n * cols; i++) x[i] = (int)(rnd() % 2001 - 1000) / 300.f;
    uint8_t *a = malloc((size_t)as * cols);
    for (int c = 0; c < cols; c++) { if (type == 6) pl_quantize_q8_0(x + c * n, a + c * as, n); else pl_quantize_q8_K(x + c * n, a + c * as, n); }
    float *o = malloc(sizeof(float) * rows * cols);
    int x8 = argc > 3 && atoi(argv[3]);
    if (argc > 4) cols = atoi(argv[4]);
    uint8_t *g = x8 ? aligned_alloc(64, (size_t)rows / 8 * n / 32 * pl_x8_block_bytes(type)) : NULL;
    if (x8) pl_repack_x8(type, w, rb, rows, n, g);
    for (int i = 0; i < iters; i++) {
        if (x8) pl_matvec_x8(type, g, rows / 8, a, as, cols, n, o, rows);
        else pl_matmul_cols(type, w, rb, rows, a, as, cols, n, o, rows);
    }
    printf("%f\n", o[5]);
}
