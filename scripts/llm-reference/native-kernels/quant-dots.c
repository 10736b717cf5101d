// Our quantized kernels (quant_dot.c, the quantizers of llm_ops.c; the avx512 path keeps them)
// against llama.cpp native libggml-cpu.so's ggml_vec_dot_* and quantize_row_*, 400 random rows each.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include "ckernels.h"
typedef void (*vdot)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
typedef void (*quant)(const float *, void *, int64_t);
static uint64_t st = 88172645463325252ull;
static uint64_t r64(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
static float rnd(float lo, float hi) { return lo + (hi - lo) * (float)((r64() >> 11) % 1000003) / 1000003.f; }
static uint16_t h(float f) { _Float16 v = (_Float16)f; uint16_t b; memcpy(&b, &v, 2); return b; }
int main(int argc, char **argv) {
    void *hd = dlopen(argv[1], RTLD_NOW);
    if (!hd) { printf("%s\n", dlerror()); return 1; }
    void (*init)(void) = dlsym(hd, "ggml_cpu_init"); if (init) init();
    struct { const char *name, *qname; int wbytes, abytes, qk; float (*ours)(const void *, const void *, int); void (*oq)(const float *, void *, int); } T[] = {
        {"ggml_vec_dot_q4_1_q8_1", "quantize_row_q8_1", 20, 36, 32, pl_dot_q4_1_q8_1, pl_quantize_q8_1},
        {"ggml_vec_dot_q8_0_q8_0", "quantize_row_q8_0", 34, 34, 32, pl_dot_q8_0_q8_0, pl_quantize_q8_0},
        {"ggml_vec_dot_q5_0_q8_0", "quantize_row_q8_0", 22, 34, 32, pl_dot_q5_0_q8_0, pl_quantize_q8_0},
        {"ggml_vec_dot_q6_K_q8_K", "quantize_row_q8_K", 210, 292, 256, pl_dot_q6_K_q8_K, pl_quantize_q8_K},
        {"ggml_vec_dot_q4_K_q8_K", "quantize_row_q8_K", 144, 292, 256, pl_dot_q4_K_q8_K, pl_quantize_q8_K},
    };
    int bad = 0, total = 0;
    for (int t = 0; t < 5; t++) {
        vdot f = dlsym(hd, T[t].name); quant q = dlsym(hd, T[t].qname);
        if (!f || !q) { printf("missing %s/%s\n", T[t].name, T[t].qname); return 1; }
        int tb = 0, tq = 0;
        for (int it = 0; it < 400; it++) {
            int nb = 1 + (int)(r64() % 24), n = nb * T[t].qk;
            uint8_t *w = malloc(nb * T[t].wbytes), *a1 = malloc(nb * T[t].abytes), *a2 = malloc(nb * T[t].abytes);
            for (int i = 0; i < nb * T[t].wbytes; i++) w[i] = (uint8_t)r64();
            for (int b = 0; b < nb; b++) {  // sane f16 scales
                uint8_t *blk = w + b * T[t].wbytes;
                uint16_t d = h(rnd(-0.02f, 0.02f)), m = h(rnd(-0.02f, 0.02f));
                if (t == 3) memcpy(blk + 208, &d, 2);
                else { memcpy(blk, &d, 2); if (t == 0 || t == 4) memcpy(blk + 2, &m, 2); }
            }
            float *x = malloc(n * 4);
            for (int i = 0; i < n; i++) x[i] = rnd(-3, 3) * (it % 5 == 0 ? 100 : 1);
            q(x, a1, n); T[t].oq(x, a2, n);
            if (memcmp(a1, a2, nb * T[t].abytes)) tq++;
            float s1; f(n, &s1, 0, w, 0, a1, 0, 1); float s2 = T[t].ours(w, a1, n);
            if (memcmp(&s1, &s2, 4)) { tb++; if (tb < 3) printf("%s n=%d %.9g %.9g\n", T[t].name, n, s1, s2); }
            total += 2; free(w); free(a1); free(a2); free(x);
        }
        printf("%s: %d of 400 differ; %s: %d of 400 differ\n", T[t].name, tb, T[t].qname, tq);
        bad += tb + tq;
    }
    return bad != 0;
}
