/* The convolution kernels of one instruction-set path. Not a normal header: each conv_*.c
 * includes it once, after defining CK_SUFFIX and the tile lists (see conv_avx512.c), inside a
 * `#pragma clang attribute` that gives every function here its target attribute.
 *
 * Layout: a "pixel-major" buffer holds, per 16-channel block, one 16-float vector per pixel.
 * All three operations broadcast single values of a zero-padded NCHW plane and multiply them
 * by 16-channel vectors, accumulating a register tile:
 *  forward (and stride-1 backward data, a forward pass of dY with flipped weights):
 *    acc[pixel] (16 output channels) += x[c][pixel + tap] · w[c][tap] — then transposed to NCHW;
 *  backward weights: acc[c][tap] (16 output channels) += x[c][pixel + tap] · dy[pixel];
 *  stride-2 backward data: acc[pixel][tap] (16 input channels) += dy[o][pixel] · w[o][tap],
 *    then added into a padded pixel-major dX. */

#define CK_CAT2(a, b) a##_##b
#define CK_CAT(a, b) CK_CAT2(a, b)
#define CK_FN(name) CK_CAT(name, CK_SUFFIX)
#define CK_ALWAYS static inline __attribute__((always_inline))
#define CK_UNROLL _Pragma("clang loop unroll(full)")

#include "conv_layout.h"

/* ---- forward tile: R output rows × P pixels × Q blocks of 16 output channels ---- */

typedef void (*fwd_fn)(const float *x, long plane, long wp, int cin, const float *w, long wob,
                       const float *bias, float *y, long yob, long wo);

CK_ALWAYS void fwd_tile(const int R, const int P, const int Q, const int S,
                        const float *restrict x, long plane, long wp, int cin,
                        const float *restrict w, long wob, const float *restrict bias,
                        float *restrict y, long yob, long wo) {
    v16f acc[2][28][2];
    CK_UNROLL for (int q = 0; q < Q; q++) {
        const v16f b = bias ? ld(bias + q * 16) : splat(0);
        CK_UNROLL for (int r = 0; r < R; r++) CK_UNROLL for (int p = 0; p < P; p++) acc[r][p][q] = b;
    }
    for (int c = 0; c < cin; c++) {
        const float *xc = x + c * plane;
        const float *wc = w + c * 144;
        CK_UNROLL for (int t = 0; t < 9; t++) {
            const int ky = t / 3, kx = t % 3;
            v16f wv[2];
            CK_UNROLL for (int q = 0; q < Q; q++) wv[q] = ld(wc + q * wob + t * 16);
            CK_UNROLL for (int r = 0; r < R; r++) {
                /* An opaque copy of the row pointer per tap: otherwise clang shares the
                 * broadcasts of neighbouring taps and spills them (fewer loads, many more stores). */
                const float *xr = xc + (r * S + ky) * wp + kx;
                __asm__ volatile("" : "+r"(xr));
                CK_UNROLL for (int p = 0; p < P; p++) {
                    const float v = xr[p * S];
                    CK_UNROLL for (int q = 0; q < Q; q++) acc[r][p][q] += wv[q] * v;
                }
            }
        }
    }
    CK_UNROLL for (int q = 0; q < Q; q++) CK_UNROLL for (int r = 0; r < R; r++)
        CK_UNROLL for (int p = 0; p < P; p++) st(y + q * yob + (r * wo + p) * 16, acc[r][p][q]);
}

#define CK_DEF_FWD(R, P, Q) \
    static void fwd_##R##_##P##_##Q##_s1(const float *x, long plane, long wp, int cin, const float *w, long wob, \
                                         const float *bias, float *y, long yob, long wo) { \
        fwd_tile(R, P, Q, 1, x, plane, wp, cin, w, wob, bias, y, yob, wo); } \
    static void fwd_##R##_##P##_##Q##_s2(const float *x, long plane, long wp, int cin, const float *w, long wob, \
                                         const float *bias, float *y, long yob, long wo) { \
        fwd_tile(R, P, Q, 2, x, plane, wp, cin, w, wob, bias, y, yob, wo); }
CK_FWD_TILES(CK_DEF_FWD)

static const struct { int r, p, q; fwd_fn s1, s2; } fwd_tiles[] = {
#define CK_FWD_ENTRY(R, P, Q) {R, P, Q, fwd_##R##_##P##_##Q##_s1, fwd_##R##_##P##_##Q##_s2},
    CK_FWD_TILES(CK_FWD_ENTRY)
};

/* The tile of R rows and Q blocks for the `left` remaining pixels of a row: the row is cut
 * into as few tiles as the widest allows, as evenly as the list of widths permits (32 pixels
 * as 16 + 16 rather than 28 + 4: a narrow tile has too few accumulators to hide the FMA
 * latency). Every list ends in P = 1. */
static int pick_fwd(int r, int q, int left) {
    const int n = (int)(sizeof fwd_tiles / sizeof fwd_tiles[0]);
    int widest = 1;
    for (int i = 0; i < n; i++)
        if (fwd_tiles[i].r == r && fwd_tiles[i].q == q && fwd_tiles[i].p > widest) widest = fwd_tiles[i].p;
    const int pieces = (left + widest - 1) / widest, target = (left + pieces - 1) / pieces;
    for (int i = 0; i < n; i++)
        if (fwd_tiles[i].r == r && fwd_tiles[i].q == q && fwd_tiles[i].p <= target) return i;
    return -1;
}

/* pix[ob][ho·wo][16] = convolution of one padded image xpad[cin][hp][wp] with wf[ob][cin][9][16],
 * prefetching `nextCount` floats at `next` (the next image) and `outCount` at `out` for writing. */
static void conv_image(const float *xpad, long plane, long wp, int cin, int nob, int s, int ho, int wo,
                       const float *wf, const float *bias, float *pix, const float *next, long nextCount,
                       const float *out, long outCount) {
    const long wob = (long)cin * 144, yob = (long)ho * wo * 16;
    long steps = 0;   /* row steps below: one per row, or per pair of rows for two-row tiles */
    for (int ob = 0; ob < nob;) {
        const int q = (CK_QMAX >= 2 && nob - ob >= 2) ? 2 : 1;
        steps += (q == 1 && wo <= CK_R2_MAXP) ? (ho + 1) / 2 : ho;
        ob += q;
    }
    ck_prefetch pf = prefetch_plan(next, nextCount, steps), pw = prefetch_plan(out, outCount, steps);
    for (int ob = 0; ob < nob;) {
        const int q = (CK_QMAX >= 2 && nob - ob >= 2) ? 2 : 1;
        for (int y = 0; y < ho;) {
            const int r = (q == 1 && wo <= CK_R2_MAXP && ho - y >= 2) ? 2 : 1;
            for (int x0 = 0; x0 < wo;) {
                const int i = pick_fwd(r, q, wo - x0);
                const fwd_fn f = s == 1 ? fwd_tiles[i].s1 : fwd_tiles[i].s2;
                f(xpad + (long)y * s * wp + (long)x0 * s, plane, wp, cin, wf + ob * wob, wob,
                  bias ? bias + ob * 16 : 0, pix + ob * yob + ((long)y * wo + x0) * 16, yob, wo);
                x0 += fwd_tiles[i].p;
            }
            prefetch_step(&pf);
            prefetch_step_write(&pw);
            y += r;
        }
        ob += q;
    }
}

void CK_FN(ck_forward)(const ck_shape *g, const float *x, const float *wf, const float *bias, float *y,
                       float *xpad, float *pix) {
    const long plane = g->hp * g->wp, outPlane = (long)g->ho * g->wo;
    for (int n = 0; n < g->n; n++) {
        const long image = (long)g->c * g->h * g->w;
        pad_planes(x + n * image, g->c, g->h, g->w, xpad);
        float *yn = y + (long)n * g->o * outPlane;
        conv_image(xpad, plane, g->wp, g->c, g->ob, g->s, g->ho, g->wo, wf, bias, pix,
                   n + 1 < g->n ? x + (n + 1) * image : 0, image, g->stream ? 0 : yn, g->o * outPlane);
        for (int ob = 0; ob < g->ob; ob++) {
            const int nch = g->o - ob * 16 < 16 ? g->o - ob * 16 : 16;
            to_planes(pix + ob * outPlane * 16, outPlane, yn + (long)ob * 16 * outPlane, outPlane, nch, g->stream);
        }
    }
    stream_fence(g->stream);
}

#include "conv_backward.h"
