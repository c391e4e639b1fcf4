/* Path selection, weight packing and scratch memory for the direct convolutions; the loops
 * themselves are in conv_impl.h, compiled once per instruction set. */
#include <stdlib.h>
#include <string.h>
#include "ckernels.h"
#include "ck_internal.h"

int ck_path_supported(ck_path path) {
    switch (path) {
    case CK_PATH_AUTO:
    case CK_PATH_PORTABLE:
        return 1;
#if defined(__x86_64__)
    case CK_PATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_PATH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

ck_path ck_best_path(void) {
    if (ck_path_supported(CK_PATH_AVX512)) return CK_PATH_AVX512;
    if (ck_path_supported(CK_PATH_AVX2)) return CK_PATH_AVX2;
    return CK_PATH_PORTABLE;
}

const char *ck_path_name(ck_path path) {
    switch (path == CK_PATH_AUTO ? ck_best_path() : path) {
    case CK_PATH_AVX512: return "avx512";
    case CK_PATH_AVX2: return "avx2";
    case CK_PATH_PORTABLE: return "portable";
    default: return "unknown";
    }
}

/* 64-byte aligned floats (NULL for count 0), uninitialised: for buffers the kernels write in full
 * before reading (pixel-major outputs and transposes). */
static float *alloc_scratch(size_t count) {
    if (count == 0) return NULL;
    return aligned_alloc(64, (count * sizeof(float) + 63) & ~(size_t)63);
}

/* The same, zero-filled: packed weights (zero lanes), padded planes (zero border), sums. */
static float *alloc_floats(size_t count) {
    float *p = alloc_scratch(count);
    if (p) memset(p, 0, count * sizeof(float));
    return p;
}

/* Resolves AUTO and checks support and arguments; fills the geometry. */
static int streams(ck_output output, long floats);

/* Resolves the path, checks the arguments and fills the shape; `output` decides whether the
 * call's written tensor (dx when `to_input`, else y) goes around the caches. */
static int prepare(ck_path *path, ck_output output, int to_input, int n, int c, int o, int h, int w, int s,
                   ck_shape *g) {
    if (output < CK_OUTPUT_AUTO || output > CK_OUTPUT_CACHE) return -1;
    if (*path == CK_PATH_AUTO) *path = ck_best_path();
    if (!ck_path_supported(*path)) return -1;
    if (n < 0 || c <= 0 || o <= 0 || h <= 0 || w <= 0 || (s != 1 && s != 2)) return -1;
    g->n = n; g->c = c; g->o = o; g->h = h; g->w = w; g->s = s;
    g->ho = (h - 1) / s + 1;
    g->wo = (w - 1) / s + 1;
    g->cb = (c + 15) / 16;
    g->ob = (o + 15) / 16;
    g->hp = h + 2;
    g->wp = w + 2;
    g->stream = streams(output, to_input ? (long)n * c * h * w : (long)n * o * g->ho * g->wo);
    return 0;
}

/* Index of weight (o, c, tap) in the output-blocked layout [o / 16][c][9][o % 16]. */
static size_t output_blocked(const ck_shape *g, int o, int c, int t) {
    return (((size_t)(o / 16) * g->c + c) * 9 + t) * 16 + o % 16;
}

/* Whether an output of `floats` is written around the caches. */
static int streams(ck_output output, long floats) {
    return output == CK_OUTPUT_AUTO ? floats * (long)sizeof(float) >= CK_STREAM_BYTES : output == CK_OUTPUT_STREAM;
}

int ck_conv3x3_forward(ck_path path, ck_output output, int batch, int in_channels, int out_channels,
                       int height, int width, int stride, const float *x, const float *weights,
                       const float *bias, float *y) {
    ck_shape g;
    if (prepare(&path, output, 0, batch, in_channels, out_channels, height, width, stride, &g)) return -1;
    float *wf = alloc_floats((size_t)g.ob * g.c * 144);
    float *bp = bias ? alloc_floats((size_t)g.ob * 16) : NULL;
    float *xpad = alloc_floats((size_t)g.c * g.hp * g.wp);
    float *pix = alloc_scratch((size_t)g.ob * g.ho * g.wo * 16);
    int rc = -2;
    if (wf && xpad && pix && (bp || !bias)) {
        for (int o = 0; o < g.o; o++) {
            for (int c = 0; c < g.c; c++)
                for (int t = 0; t < 9; t++)
                    wf[output_blocked(&g, o, c, t)] = weights[((size_t)o * g.c + c) * 9 + t];
            if (bias) bp[o] = bias[o];
        }
        switch (path) {
#if defined(__x86_64__)
        case CK_PATH_AVX512: ck_forward_avx512(&g, x, wf, bp, y, xpad, pix); break;
        case CK_PATH_AVX2: ck_forward_avx2(&g, x, wf, bp, y, xpad, pix); break;
#endif
        default: ck_forward_portable(&g, x, wf, bp, y, xpad, pix); break;
        }
        rc = 0;
    }
    free(wf); free(bp); free(xpad); free(pix);
    return rc;
}

/* wb[cb][o][9][16], lanes = input channels; stride 1 flips the taps (a forward pass over dY). */
static void pack_input_gradient_weights(const ck_shape *g, const float *weights, float *wb) {
    for (int o = 0; o < g->o; o++)
        for (int c = 0; c < g->c; c++)
            for (int t = 0; t < 9; t++)
                wb[(((size_t)(c / 16) * g->o + o) * 9 + (g->s == 1 ? 8 - t : t)) * 16 + c % 16] =
                    weights[((size_t)o * g->c + c) * 9 + t];
}

/* weight_grad[o][c][t] += dwp[ob][c][t][lane], bias_grad[o] += dbp[o]. */
static void add_weight_gradient(const ck_shape *g, const float *dwp, const float *dbp, float *weight_grad,
                                float *bias_grad) {
    for (int o = 0; o < g->o; o++) {
        for (int c = 0; c < g->c; c++)
            for (int t = 0; t < 9; t++)
                weight_grad[((size_t)o * g->c + c) * 9 + t] += dwp[output_blocked(g, o, c, t)];
        if (bias_grad) bias_grad[o] += dbp[o];
    }
}

int ck_conv3x3_backward_data(ck_path path, ck_output output, int batch, int in_channels,
                             int out_channels, int height, int width, int stride, const float *dy,
                             const float *weights, float *dx) {
    ck_shape g;
    if (prepare(&path, output, 1, batch, in_channels, out_channels, height, width, stride, &g)) return -1;
    float *wb = alloc_floats((size_t)g.cb * g.o * 144);
    float *dypad = stride == 1 ? alloc_floats((size_t)g.o * g.hp * g.wp) : NULL;
    float *pix = alloc_scratch((size_t)g.cb * 16 * (stride == 1 ? (size_t)g.h * g.w : (size_t)(g.hp * g.wp)));
    int rc = -2;
    if (wb && pix && (dypad || stride != 1)) {
        pack_input_gradient_weights(&g, weights, wb);
        switch (path) {
#if defined(__x86_64__)
        case CK_PATH_AVX512: ck_backward_data_avx512(&g, dy, wb, dx, dypad, pix); break;
        case CK_PATH_AVX2: ck_backward_data_avx2(&g, dy, wb, dx, dypad, pix); break;
#endif
        default: ck_backward_data_portable(&g, dy, wb, dx, dypad, pix); break;
        }
        rc = 0;
    }
    free(wb); free(dypad); free(pix);
    return rc;
}

int ck_conv3x3_backward_weights(ck_path path, int batch, int in_channels, int out_channels, int height,
                                int width, int stride, const float *x, const float *dy, float *weight_grad,
                                float *bias_grad) {
    ck_shape g;
    if (prepare(&path, CK_OUTPUT_CACHE, 0, batch, in_channels, out_channels, height, width, stride, &g)) return -1;
    float *dwp = alloc_floats((size_t)g.ob * g.c * 144);
    float *dbp = bias_grad ? alloc_floats((size_t)g.ob * 16) : NULL;
    float *xpad = alloc_floats((size_t)g.c * g.hp * g.wp);
    float *dyt = alloc_scratch((size_t)g.ob * g.ho * g.wo * 16);
    int rc = -2;
    if (dwp && xpad && dyt && (dbp || !bias_grad)) {
        switch (path) {
#if defined(__x86_64__)
        case CK_PATH_AVX512: ck_backward_weights_avx512(&g, x, dy, dwp, dbp, xpad, dyt); break;
        case CK_PATH_AVX2: ck_backward_weights_avx2(&g, x, dy, dwp, dbp, xpad, dyt); break;
#endif
        default: ck_backward_weights_portable(&g, x, dy, dwp, dbp, xpad, dyt); break;
        }
        add_weight_gradient(&g, dwp, dbp, weight_grad, bias_grad);
        rc = 0;
    }
    free(dwp); free(dbp); free(xpad); free(dyt);
    return rc;
}

int ck_conv3x3_backward(ck_path path, ck_output output, int batch, int in_channels, int out_channels,
                        int height, int width, int stride, const float *x, const float *dy,
                        const float *weights, float *dx, float *weight_grad, float *bias_grad) {
    ck_shape g;
    if (prepare(&path, output, 1, batch, in_channels, out_channels, height, width, stride, &g)) return -1;
    const int data = dx != NULL;
    float *dwp = alloc_floats((size_t)g.ob * g.c * 144);
    float *dbp = bias_grad ? alloc_floats((size_t)g.ob * 16) : NULL;
    float *xpad = alloc_floats((size_t)g.c * g.hp * g.wp);
    float *dyt = alloc_scratch((size_t)g.ob * g.ho * g.wo * 16);
    float *wb = data ? alloc_floats((size_t)g.cb * g.o * 144) : NULL;
    float *dypad = data && stride == 1 ? alloc_floats((size_t)g.o * g.hp * g.wp) : NULL;
    float *pix = data ? alloc_scratch((size_t)g.cb * 16 * (stride == 1 ? (size_t)g.h * g.w : (size_t)(g.hp * g.wp)))
                      : NULL;
    int rc = -2;
    if (dwp && xpad && dyt && (dbp || !bias_grad) && (!data || (wb && pix && (dypad || stride != 1)))) {
        if (data) pack_input_gradient_weights(&g, weights, wb);
        switch (path) {
#if defined(__x86_64__)
        case CK_PATH_AVX512: ck_backward_avx512(&g, x, dy, wb, dx, dwp, dbp, xpad, dyt, dypad, pix); break;
        case CK_PATH_AVX2: ck_backward_avx2(&g, x, dy, wb, dx, dwp, dbp, xpad, dyt, dypad, pix); break;
#endif
        default: ck_backward_portable(&g, x, dy, wb, dx, dwp, dbp, xpad, dyt, dypad, pix); break;
        }
        add_weight_gradient(&g, dwp, dbp, weight_grad, bias_grad);
        rc = 0;
    }
    free(dwp); free(dbp); free(xpad); free(dyt); free(wb); free(dypad); free(pix);
    return rc;
}
