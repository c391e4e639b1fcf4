#ifndef CKERNELS_H
#define CKERNELS_H

/* Direct 3×3 convolutions (padding 1, stride 1 or 2) on NCHW float32 batches, weights
 * [out, in, 3, 3] (PyTorch cross-correlation), independent of any BLAS library.
 *
 * Each operation exists for several instruction sets, compiled with per-function target
 * attributes into one object: AVX-512 (F, BW, VL + FMA), AVX2 + FMA, and portable C.
 * CK_PATH_AUTO runs the best one this CPU supports (CPUID, through __builtin_cpu_supports);
 * a caller may name a path explicitly (tests run every supported one). Scratch memory is allocated per call; no state
 * is kept between calls (reentrant, one thread per call). Images are processed one at a time.
 * Functions return 0 on success, -1 when the path is not supported by this CPU or an argument
 * is invalid, -2 when memory could not be allocated. */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CK_PATH_AUTO = 0,
    CK_PATH_PORTABLE = 1,
    CK_PATH_AVX2 = 2,
    CK_PATH_AVX512 = 3,
} ck_path;

/* How the output of forward and of the input gradient (y, dx) is written. */
typedef enum {
    CK_OUTPUT_AUTO = 0,    /* around the caches when a call's output reaches 4 MB, else ordinary */
    CK_OUTPUT_STREAM = 1,  /* around the caches: the output is read long after (saves reading each
                              line in before writing it; about a tenth of a forward pass) */
    CK_OUTPUT_CACHE = 2,   /* ordinary stores: the output is read soon, e.g. block by block */
} ck_output;

/* 1 when this CPU (and OS) can run `path`; AUTO and PORTABLE always can. */
int ck_path_supported(ck_path path);
/* The path AUTO resolves to on this CPU. */
ck_path ck_best_path(void);
/* "avx512", "avx2", "portable" (AUTO: the name of the best path). */
const char *ck_path_name(ck_path path);

/* y[n, out, Ho, Wo] = conv(x[n, in, h, w], weights) (+ bias[out] when bias is non-null),
 * Ho = (h − 1) / stride + 1 (same for W). stride is 1 or 2. */
int ck_conv3x3_forward(ck_path path, ck_output output, int batch, int in_channels, int out_channels,
                       int height, int width, int stride, const float *x, const float *weights,
                       const float *bias, float *y);

/* dx[n, in, h, w] = gradient of the loss w.r.t. the input, from dy[n, out, Ho, Wo] (overwritten). */
int ck_conv3x3_backward_data(ck_path path, ck_output output, int batch, int in_channels,
                             int out_channels, int height, int width, int stride, const float *dy,
                             const float *weights, float *dx);

/* weight_grad[out, in, 3, 3] += Σ over the batch, bias_grad[out] += Σ dy (when non-null). */
int ck_conv3x3_backward_weights(ck_path path, int batch, int in_channels, int out_channels, int height,
                                int width, int stride, const float *x, const float *dy, float *weight_grad,
                                float *bias_grad);

/* Both gradients in one pass over the batch (each image's dy is read from memory once):
 * dx as ck_conv3x3_backward_data (skipped when dx is NULL), weight_grad and bias_grad as
 * ck_conv3x3_backward_weights. */
int ck_conv3x3_backward(ck_path path, ck_output output, int batch, int in_channels, int out_channels,
                        int height, int width, int stride, const float *x, const float *dy,
                        const float *weights, float *dx, float *weight_grad, float *bias_grad);

#ifdef __cplusplus
}
#endif
#endif
