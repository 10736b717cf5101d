/* Shim for the FFmpeg 5.1 libraries.
 *
 * Includes every header PipelineMedia uses and turns the macros Swift cannot
 * import (AVERROR(e), AVERROR_EOF, AV_NOPTS_VALUE, AV_TIME_BASE_Q,
 * av_err2str, FFERRTAG-based codes) into static inline functions.
 */
#ifndef CFFMPEG_SHIM_H
#define CFFMPEG_SHIM_H

#include <errno.h>
#include <stdint.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

/* AVERROR(e): FFmpeg's negative errno encoding. */
static inline int cffmpeg_averror(int e) { return AVERROR(e); }
/* AVERROR(EAGAIN): "send more input" / "read output first". */
static inline int cffmpeg_averror_eagain(void) { return AVERROR(EAGAIN); }
/* AVERROR_EOF: end of stream. */
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
/* AVERROR_INVALIDDATA: malformed input. */
static inline int cffmpeg_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
/* AVERROR_DECODER_NOT_FOUND. */
static inline int cffmpeg_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
/* AVERROR_STREAM_NOT_FOUND. */
static inline int cffmpeg_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
/* AVERROR_ENCODER_NOT_FOUND. */
static inline int cffmpeg_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
/* AV_NOPTS_VALUE: "no timestamp". */
static inline int64_t cffmpeg_nopts_value(void) { return AV_NOPTS_VALUE; }
/* AV_TIME_BASE_Q: microseconds as a rational. */
static inline AVRational cffmpeg_time_base_q(void) { AVRational q = { 1, AV_TIME_BASE }; return q; }
/* av_err2str without the compound literal: writes FFmpeg's message for `code` into buf. */
static inline void cffmpeg_err2str(int code, char *buf, size_t size) {
    if (av_strerror(code, buf, size) < 0 && size > 0) {
        snprintf(buf, size, "error %d", code);
    }
}
/* Whether a pixel format carries an alpha channel (AV_PIX_FMT_FLAG_ALPHA). */
static inline int cffmpeg_pix_fmt_has_alpha(int fmt) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)fmt);
    return d != NULL && (d->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
}
/* Number of components of a pixel format (1 for gray, 3 for RGB/YUV, 4 with alpha). */
static inline int cffmpeg_pix_fmt_components(int fmt) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)fmt);
    return d != NULL ? d->nb_components : 0;
}
/* Bit depth of the first component of a pixel format. */
static inline int cffmpeg_pix_fmt_depth(int fmt) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)fmt);
    return d != NULL ? d->comp[0].depth : 0;
}
/* The stream at `index` of a format context (Swift sees a double pointer). */
static inline AVStream *cffmpeg_stream(const AVFormatContext *fc, unsigned index) {
    return index < fc->nb_streams ? fc->streams[index] : NULL;
}

/* sws_scale from a decoded frame into one packed destination plane (RGB24, RGBA, GRAY8). */
static inline int cffmpeg_sws_frame_to_packed(struct SwsContext *c, const AVFrame *f,
                                              uint8_t *dst, int dst_stride) {
    uint8_t *dsts[4] = { dst, NULL, NULL, NULL };
    int strides[4] = { dst_stride, 0, 0, 0 };
    return sws_scale(c, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dsts, strides);
}
/* A scaler with slice threads (the "threads" option of FFmpeg 5.x); NULL on failure. */
static inline struct SwsContext *cffmpeg_sws_create(int sw, int sh, int sf, int dw, int dh, int df,
                                                    int flags, int threads) {
    struct SwsContext *c = sws_alloc_context();
    if (c == NULL) return NULL;
    av_opt_set_int(c, "srcw", sw, 0);
    av_opt_set_int(c, "srch", sh, 0);
    av_opt_set_int(c, "src_format", sf, 0);
    av_opt_set_int(c, "dstw", dw, 0);
    av_opt_set_int(c, "dsth", dh, 0);
    av_opt_set_int(c, "dst_format", df, 0);
    av_opt_set_int(c, "sws_flags", flags, 0);
    av_opt_set_int(c, "threads", threads, 0);
    if (sws_init_context(c, NULL, NULL) < 0) {
        sws_freeContext(c);
        return NULL;
    }
    return c;
}
/* sws_scale_frame (threaded) from a decoded frame into `tmp`, then copied into one
 * packed plane of `row_bytes` x `rows`. Returns rows, or a negative error. */
static inline int cffmpeg_sws_frame_to_packed_threaded(struct SwsContext *c, const AVFrame *src, AVFrame *tmp,
                                                       uint8_t *dst, int dst_stride, int row_bytes, int rows) {
    av_frame_unref(tmp);
    int r = sws_scale_frame(c, tmp, src);
    if (r < 0) return r;
    av_image_copy_plane(dst, dst_stride, tmp->data[0], tmp->linesize[0], row_bytes, rows);
    return rows;
}
/* sws_scale from one packed source plane into one packed destination plane. */
static inline int cffmpeg_sws_packed_to_packed(struct SwsContext *c, const uint8_t *src, int src_stride,
                                               int src_h, uint8_t *dst, int dst_stride) {
    const uint8_t *srcs[4] = { src, NULL, NULL, NULL };
    int sstrides[4] = { src_stride, 0, 0, 0 };
    uint8_t *dsts[4] = { dst, NULL, NULL, NULL };
    int dstrides[4] = { dst_stride, 0, 0, 0 };
    return sws_scale(c, srcs, sstrides, 0, src_h, dsts, dstrides);
}
/* sws_scale from one packed source plane into an allocated frame (any planar layout). */
static inline int cffmpeg_sws_packed_to_frame(struct SwsContext *c, const uint8_t *src, int src_stride,
                                              int src_h, AVFrame *f) {
    const uint8_t *srcs[4] = { src, NULL, NULL, NULL };
    int sstrides[4] = { src_stride, 0, 0, 0 };
    return sws_scale(c, srcs, sstrides, 0, src_h, f->data, f->linesize);
}
/* swr_convert of a frame (or NULL to drain) into one packed output buffer. */
static inline int cffmpeg_swr_convert_packed(struct SwrContext *s, const AVFrame *in,
                                             uint8_t *out, int out_count) {
    uint8_t *outs[1] = { out };
    if (in != NULL) {
        return swr_convert(s, outs, out_count, (const uint8_t **)in->extended_data, in->nb_samples);
    }
    return swr_convert(s, outs, out_count, NULL, 0);
}
/* Value of a metadata key of a frame, or NULL. */
static inline const char *cffmpeg_frame_metadata(const AVFrame *f, const char *key) {
    AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
    return e != NULL ? e->value : NULL;
}
/* Rotation in degrees (counter-clockwise) and horizontal flip from a display matrix
 * in frame or stream side data; returns 0 when there is none. */
static inline int cffmpeg_display_matrix(const AVFrame *f, const AVStream *st, double *rotation, int *hflip) {
    const int32_t *m = NULL;
    AVFrameSideData *sd = f != NULL ? av_frame_get_side_data(f, AV_FRAME_DATA_DISPLAYMATRIX) : NULL;
    if (sd != NULL && sd->size >= 36) m = (const int32_t *)sd->data;
    if (m == NULL && st != NULL) {
        size_t size = 0;
        const uint8_t *p = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
        if (p != NULL && size >= 36) m = (const int32_t *)p;
    }
    if (m == NULL) return 0;
    /* A negative determinant means the matrix mirrors. */
    int64_t det = (int64_t)m[0] * m[4] - (int64_t)m[1] * m[3];
    int32_t fixed[9];
    for (int i = 0; i < 9; i++) fixed[i] = m[i];
    *hflip = det < 0;
    if (det < 0) av_display_matrix_flip(fixed, 1, 0);
    *rotation = av_display_rotation_get(fixed);
    return 1;
}

#endif
