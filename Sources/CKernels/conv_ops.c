// Convolution kernels for the image encoders (EfficientNet-Lite): depthwise convolution with
// TF "SAME"-style explicit padding, the per-channel bias + ReLU6 (+ residual) epilogue of
// every convolution, and im2col for the few dense kxk convolutions. Plain loops the
// compiler vectorizes at -O3. Activations are planes: `planes` images of h x w floats laid
// one after another; each is tested against a Swift reference in
// Tests/PipelineTensorTests/ConvOpsTests.swift.
#include "ckernels.h"

static inline float relu6(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }

void pl_depthwise_conv(const float *in, int channels, int images, int h, int w, const float *weight, int k,
                       int stride, int pad_top, int pad_left, int oh, int ow, float *out) {
    for (int p = 0; p < channels * images; p++) {
        const float *src = in + (long)p * h * w;
        const float *wk = weight + (long)(p / images) * k * k;
        float *dst = out + (long)p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            float *row = dst + (long)oy * ow;
            for (int ox = 0; ox < ow; ox++) row[ox] = 0.0f;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * stride + ky - pad_top;
                if (iy < 0 || iy >= h) continue;
                const float *srow = src + (long)iy * w;
                for (int kx = 0; kx < k; kx++) {
                    float wv = wk[ky * k + kx];
                    // Valid ox: 0 <= ox*stride + kx - pad_left < w.
                    int lo = pad_left - kx > 0 ? (pad_left - kx + stride - 1) / stride : 0;
                    int hi = (w - 1 - kx + pad_left) / stride;
                    if (w - 1 - kx + pad_left < 0) continue;
                    if (hi > ow - 1) hi = ow - 1;
                    if (stride == 1) {
                        const float *s = srow + kx - pad_left;
                        for (int ox = lo; ox <= hi; ox++) row[ox] += wv * s[ox];
                    } else {
                        for (int ox = lo; ox <= hi; ox++) row[ox] += wv * srow[ox * stride + kx - pad_left];
                    }
                }
            }
        }
    }
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
