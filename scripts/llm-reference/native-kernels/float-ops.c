// llm_avx512.c (the avx512 path's f16 dot, softmax exp, SwiGLU) against the same functions of
// llama.cpp's native libggml-cpu.so (dlopen), bit for bit, on 3000 random vectors each.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdint.h>
int pl_isa_process; _Thread_local int pl_isa_thread_override = -1;
#include "llm_avx512.h"
typedef double (*softmax_fn)(int, float *, const float *, float);
typedef void (*dot_fn)(int, float *, size_t, uint16_t *, size_t, uint16_t *, size_t, int);
typedef void (*swiglu_fn)(int, float *, const float *, const float *);
static uint64_t st = 88172645463325252ull;
static float rnd(float lo, float hi) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return lo + (hi - lo) * (float)((st >> 11) % 1000003) / 1000003.f; }
int main(int argc, char **argv) {
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    void (*init)(void) = dlsym(h, "ggml_cpu_init"); if (init) init();
    softmax_fn sm = dlsym(h, "ggml_vec_soft_max_f32"); dot_fn dot = dlsym(h, "ggml_vec_dot_f16"); swiglu_fn sw = dlsym(h, "ggml_vec_swiglu_f32");
    if (!sm || !dot || !sw) { printf("missing symbols %p %p %p\n", sm, dot, sw); return 1; }
    long bad = 0, total = 0;
    for (int it = 0; it < 3000; it++) {
        int n = 1 + (int)(rnd(0, 1) * 700);
        float lo = it % 3 == 0 ? -300 : -40, hi = it % 3 == 0 ? 200 : 15;
        float *x = malloc(n * 4), *y1 = malloc(n * 4), *y2 = malloc(n * 4), *g = malloc(n * 4);
        uint16_t *a = malloc(n * 2), *b = malloc(n * 2);
        float mx = -INFINITY;
        for (int i = 0; i < n; i++) { x[i] = rnd(lo, hi); if (i % 37 == 3) x[i] = -INFINITY; if (x[i] > mx) mx = x[i]; g[i] = rnd(-3, 3);
            a[i] = f2h_scalar(rnd(-4, 4)); b[i] = f2h_scalar(rnd(-4, 4)); }
        double s1 = sm(n, y1, x, mx), s2 = pl_softmax_exp_avx512(x, y2, mx, n);
        total++; if (s1 != s2 || memcmp(y1, y2, n * 4)) { bad++; if (bad < 5) printf("softmax n=%d %.17g %.17g\n", n, s1, s2); }
        sw(n, y1, x, g); pl_swiglu_avx512(x, g, y2, n);
        // -inf gate gives nan in both (0*... ) - compare bits
        total++; if (memcmp(y1, y2, n * 4)) { bad++; if (bad < 5) printf("swiglu n=%d\n", n); }
        float d1; dot(n, &d1, 0, a, 0, b, 0, 1); float d2 = pl_dot_f16_avx512(a, b, n);
        total++; if (memcmp(&d1, &d2, 4)) { bad++; if (bad < 5) printf("dot n=%d %.9g %.9g\n", n, d1, d2); }
        free(x); free(y1); free(y2); free(g); free(a); free(b);
    }
    printf("%ld of %ld comparisons differ\n", bad, total);
    return bad != 0;
}
