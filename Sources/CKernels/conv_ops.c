// Convolution kernels for the image encoders (EfficientNet-Lite): depthwise convolution with
// TF "SAME"-style explicit padding, the per-channel bias + ReLU6 (+ residual) epilogue of
// every convolution, and im2col for the few dense kxk convolutions. Plain loops the
// compiler vectorizes at -O3. Activations are planes: `planes` images of h x w floats laid
// one after another; each is tested against a Swift reference in
// Tests/PipelineTensorTests/ConvOpsTests.swift.
#include "ckernels.h"
#include "encoder_kernels.h"
#include <stdlib.h>
#include <string.h>

static inline float relu6(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }


#define AVX2 __attribute__((target("avx2,fma")))

// One plane of a depthwise convolution on a zero-padded copy of its input: P is ph x pw
// (the input at pad_top/pad_left, zeros around), so no tap needs a bounds check. For
// stride 2, Pe/Po hold P's even and odd columns (pwe each), so every tap reads
// contiguously. With k a constant the tap loops unroll and the ox loop vectorizes.
__attribute__((always_inline)) static inline void dw_plane(const float *P, const float *Pe, const float *Po, int pw,
                                                           int pwe, int oh, int ow, int ow8, const float *wk,
                                                           const int k, const int stride, float b, int relu6_on,
                                                           float *restrict tmp, float *dst) {
    for (int oy = 0; oy < oh; oy++) {
        float *restrict row = dst + (long)oy * ow;
        // Whole vectors: ow8 (ow rounded up to 8) columns into tmp, the first ow kept.
        for (int ox = 0; ox < ow8; ox++) {
            float acc = b;
            for (int ky = 0; ky < k; ky++) {
                const int r = oy * stride + ky;
                if (stride == 1) {
                    const float *src = P + (long)r * pw + ox;
                    for (int kx = 0; kx < k; kx++) acc += wk[ky * k + kx] * src[kx];
                } else {
                    const float *e = Pe + (long)r * pwe + ox, *o = Po + (long)r * pwe + ox;
                    for (int kx = 0; kx < k; kx++) acc += wk[ky * k + kx] * ((kx & 1) ? o[kx >> 1] : e[kx >> 1]);
                }
            }
            tmp[ox] = relu6_on ? relu6(acc) : acc;
        }
        for (int ox = 0; ox < ow; ox++) row[ox] = tmp[ox];
    }
}

__attribute__((always_inline)) static inline void depthwise_all(const float *in, int channels, int images, int h, int w,
                                                                const float *weight, int k, int stride, int pad_top,
                                                                int pad_left, int oh, int ow, const float *bias,
                                                                int relu6_on, float *out) {
    const int ow8 = (ow + 7) / 8 * 8;
    const int ph = (oh - 1) * stride + k, pw = (ow8 - 1) * stride + k, pwe = (pw + 1) / 2;
    float *P = calloc((size_t)ph * pw + 2 * (size_t)ph * pwe + (size_t)ow8 + 16, sizeof(float));
    if (!P) return;
    float *Pe = P + (long)ph * pw, *Po = Pe + (long)ph * pwe, *tmp = Po + (long)ph * pwe;
    for (int p = 0; p < channels * images; p++) {
        const int c = p / images;
        const float *src = in + (long)p * h * w;
        const float *wk = weight + (long)c * k * k;
        const float b = bias ? bias[c] : 0.0f;
        float *dst = out + (long)p * oh * ow;
        // The padded copy: rows and columns outside the input stay zero.
        for (int r = 0; r < ph; r++) {
            const int iy = r - pad_top;
            float *prow = P + (long)r * pw;
            if (iy < 0 || iy >= h) {
                memset(prow, 0, sizeof(float) * (size_t)pw);
            } else {
                // Columns pad_left .. pad_left + w - 1 hold the input row (clipped to pw).
                const int x0 = pad_left < pw ? pad_left : pw;
                const int n = w < pw - x0 ? w : pw - x0;
                memset(prow, 0, sizeof(float) * (size_t)x0);
                memcpy(prow + x0, src + (long)iy * w, sizeof(float) * (size_t)(n > 0 ? n : 0));
                if (x0 + n < pw) memset(prow + x0 + n, 0, sizeof(float) * (size_t)(pw - x0 - (n > 0 ? n : 0)));
            }
            if (stride == 2) {
                float *er = Pe + (long)r * pwe, *orow = Po + (long)r * pwe;
                for (int j = 0; j < pwe; j++) {
                    er[j] = prow[2 * j];
                    orow[j] = 2 * j + 1 < pw ? prow[2 * j + 1] : 0.0f;
                }
            }
        }
        if (k == 3 && stride == 1) dw_plane(P, Pe, Po, pw, pwe, oh, ow, ow8, wk, 3, 1, b, relu6_on, tmp, dst);
        else if (k == 3 && stride == 2) dw_plane(P, Pe, Po, pw, pwe, oh, ow, ow8, wk, 3, 2, b, relu6_on, tmp, dst);
        else if (k == 5 && stride == 1) dw_plane(P, Pe, Po, pw, pwe, oh, ow, ow8, wk, 5, 1, b, relu6_on, tmp, dst);
        else if (k == 5 && stride == 2) dw_plane(P, Pe, Po, pw, pwe, oh, ow, ow8, wk, 5, 2, b, relu6_on, tmp, dst);
        else {
            // Any other kernel or stride: direct taps on the padded copy.
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    float acc = b;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            acc += wk[ky * k + kx] * P[(long)(oy * stride + ky) * pw + ox * stride + kx];
                    dst[(long)oy * ow + ox] = relu6_on ? relu6(acc) : acc;
                }
            }
        }
    }
    free(P);
}

AVX2 static void depthwise_avx2(const float *in, int channels, int images, int h, int w, const float *weight, int k,
                                int stride, int pad_top, int pad_left, int oh, int ow, const float *bias, int relu6_on,
                                float *out) {
    depthwise_all(in, channels, images, h, w, weight, k, stride, pad_top, pad_left, oh, ow, bias, relu6_on, out);
}

static void depthwise_portable(const float *in, int channels, int images, int h, int w, const float *weight, int k,
                               int stride, int pad_top, int pad_left, int oh, int ow, const float *bias, int relu6_on,
                               float *out) {
    depthwise_all(in, channels, images, h, w, weight, k, stride, pad_top, pad_left, oh, ow, bias, relu6_on, out);
}

void pl_depthwise_conv(const float *in, int channels, int images, int h, int w, const float *weight, int k,
                       int stride, int pad_top, int pad_left, int oh, int ow, const float *bias, int relu6_on,
                       float *out) {
    if (pl_enc512_active() && pl_depthwise_conv_avx512(in, channels, images, h, w, weight, k, stride, pad_top, pad_left,
                                                        oh, ow, bias, relu6_on, out))
        return;
    if (pl_kernels_portable())
        depthwise_portable(in, channels, images, h, w, weight, k, stride, pad_top, pad_left, oh, ow, bias, relu6_on, out);
    else
        depthwise_avx2(in, channels, images, h, w, weight, k, stride, pad_top, pad_left, oh, ow, bias, relu6_on, out);
}

void pl_channel_bias_act(float *x, int channels, long len, const float *bias, int relu6_on, const float *skip) {
    for (int c = 0; c < channels; c++) {
        float *row = x + (long)c * len;
        const float b = bias[c];
        if (skip) {
            const float *s = skip + (long)c * len;
            if (relu6_on) for (long i = 0; i < len; i++) row[i] = relu6(row[i] + b + s[i]);
            else for (long i = 0; i < len; i++) row[i] = row[i] + b + s[i];
        } else {
            if (relu6_on) for (long i = 0; i < len; i++) row[i] = relu6(row[i] + b);
            else for (long i = 0; i < len; i++) row[i] += b;
        }
    }
}

void pl_im2col(const float *in, int channels, int planes, int h, int w, int k, int stride, int pad_top,
               int pad_left, int oh, int ow, float *cols) {
    long plane_out = (long)oh * ow;
    long row_len = (long)planes * plane_out;
    for (int c = 0; c < channels; c++) {
        for (int ky = 0; ky < k; ky++) {
            for (int kx = 0; kx < k; kx++) {
                float *dst = cols + ((long)(c * k + ky) * k + kx) * row_len;
                for (int p = 0; p < planes; p++) {
                    const float *src = in + ((long)c * planes + p) * h * w;
                    float *d = dst + (long)p * plane_out;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * stride + ky - pad_top;
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * stride + kx - pad_left;
                            d[(long)oy * ow + ox] = (iy < 0 || iy >= h || ix < 0 || ix >= w) ? 0.0f : src[(long)iy * w + ix];
                        }
                    }
                }
            }
        }
    }
}

void pl_plane_means(const float *x, int planes, long len, float *out) {
    for (int p = 0; p < planes; p++) {
        const float *row = x + (long)p * len;
        double sum = 0;
        for (long i = 0; i < len; i++) sum += row[i];
        out[p] = (float)(sum / (double)len);
    }
}

void pl_channel_fill(float *x, int channels, long len, const float *bias, const float *skip) {
    for (int c = 0; c < channels; c++) {
        float *row = x + (long)c * len;
        const float b = bias[c];
        if (skip) {
            const float *s = skip + (long)c * len;
            for (long i = 0; i < len; i++) row[i] = b + s[i];
        } else {
            for (long i = 0; i < len; i++) row[i] = b;
        }
    }
}

void pl_relu6(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = relu6(x[i]);
}
