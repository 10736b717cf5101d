// The one place that knows which instruction set the kernels use.
//
// Features come from cpuid, masked by xgetbv: an instruction set counts only when the OS saves
// its registers on a context switch (YMM state for AVX2, opmask and ZMM state for AVX-512), so a
// kernel never faults on a CPU whose OS leaves them off. The path is chosen once per process
// (PIPELINE_ISA, then the CLI's --isa through pl_isa_set) and may be overridden per thread by tests
// that compare the portable twins with the SIMD kernels. Every kernel asks pl_isa_now() (simd.h).
#include "ckernels.h"
#include "simd.h"
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

int pl_isa_process = PL_ISA_PORTABLE;
_Thread_local int pl_isa_thread_override = -1;
static unsigned features_cache;

static unsigned long long read_xcr0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect_features(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    const unsigned long long xcr0 = read_xcr0();
    const int ymm = (xcr0 & 0x6) == 0x6;             // SSE and AVX state
    const int zmm = ymm && (xcr0 & 0xE0) == 0xE0;    // opmask, upper ZMM0-15, ZMM16-31
    if (!ymm) return 0;
    if (fma) f |= PL_CPU_FMA;
    if (f16c) f |= PL_CPU_F16C;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((b >> 5) & 1) f |= PL_CPU_AVX2;
        if (zmm) {
            if ((b >> 16) & 1) f |= PL_CPU_AVX512F;
            if ((b >> 30) & 1) f |= PL_CPU_AVX512BW;
            if ((b >> 31) & 1) f |= PL_CPU_AVX512VL;
            if ((c >> 11) & 1) f |= PL_CPU_AVX512VNNI;
            __cpuid_count(7, 1, a, b, c, d);
            if ((a >> 5) & 1) f |= PL_CPU_AVX512BF16;
        }
    }
    return f;
}

unsigned pl_cpu_features(void) { return features_cache; }

int pl_isa_best(void) {
    const unsigned need = PL_CPU_AVX2 | PL_CPU_FMA | PL_CPU_F16C;
    const unsigned wide = need | PL_CPU_AVX512F | PL_CPU_AVX512BW | PL_CPU_AVX512VL;
    if ((features_cache & wide) == wide) return PL_ISA_AVX512;
    return (features_cache & need) == need ? PL_ISA_AVX2 : PL_ISA_PORTABLE;
}

int pl_isa_usable(int isa) {
    switch (isa) {
    case PL_ISA_PORTABLE: return 1;
    case PL_ISA_AVX2: return pl_isa_best() >= PL_ISA_AVX2;
    case PL_ISA_AVX512: return pl_isa_best() >= PL_ISA_AVX512;
    default: return 0;
    }
}

int pl_isa_set(int isa) {
    if (!pl_isa_usable(isa)) return 0;
    pl_isa_process = isa;
    return 1;
}

int pl_isa_current(void) { return pl_isa_now(); }

int pl_isa_thread_path(void) { return pl_isa_thread_override; }

void pl_isa_force_thread(int isa) { pl_isa_thread_override = isa >= 0 && pl_isa_usable(isa) ? isa : -1; }

// Library callers that never reach the CLI (benchmarks, tests) still honour PIPELINE_ISA; a value
// that is unknown or not usable here leaves the automatic choice, and the CLI reports it.
__attribute__((constructor)) static void pl_isa_init(void) {
    features_cache = detect_features();
    pl_isa_process = pl_isa_best();
    const char *env = getenv("PIPELINE_ISA");
    if (!env) return;
    if (!strcmp(env, "portable")) pl_isa_set(PL_ISA_PORTABLE);
    else if (!strcmp(env, "avx2")) pl_isa_set(PL_ISA_AVX2);
    else if (!strcmp(env, "avx512")) pl_isa_set(PL_ISA_AVX512);
}

// The older entry points, now answered by the dispatch above.
int pl_cpu_has_avx2(void) { return pl_isa_best() >= PL_ISA_AVX2; }
void pl_force_portable(int on) { pl_isa_force_thread(on ? PL_ISA_PORTABLE : -1); }
int pl_kernels_portable(void) { return pl_isa_now() == PL_ISA_PORTABLE; }
