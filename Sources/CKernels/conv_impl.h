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

/* The widest tile of R rows and Q blocks with at most `left` pixels (every list ends in P = 1). */
static int pick_fwd(int r, int q, int left) {
    for (int i = 0; i < (int)(sizeof fwd_tiles / sizeof fwd_tiles[0]); i++)
        if (fwd_tiles[i].r == r && fwd_tiles[i].q == q && fwd_tiles[i].p <= left) return i;
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
                   n + 1 < g->n ? x + (n + 1) * image : 0, image, yn, g->o * outPlane);
        for (int ob = 0; ob < g->ob; ob++) {
            const int nch = g->o - ob * 16 < 16 ? g->o - ob * 16 : 16;
            to_planes(pix + ob * outPlane * 16, outPlane, yn + (long)ob * 16 * outPlane, outPlane, nch);
        }
    }
}

/* ---- weight-gradient tile: T input channels × KY kernel rows × 3 taps, summed over pixels ---- */

typedef void (*dw_fn)(const float *x, long plane, long wp, const float *dyt, int ho, int wo, float *dw,
                      ck_prefetch *px, ck_prefetch *pd);

CK_ALWAYS void dw_tile(const int T, const int KY, const int S, const float *restrict x, long plane, long wp,
                       const float *restrict dyt, int ho, int wo, float *restrict dw,
                       ck_prefetch *px, ck_prefetch *pd) {
    v16f acc[3][3][3];
    CK_UNROLL for (int t = 0; t < T; t++) CK_UNROLL for (int k = 0; k < KY; k++)
        CK_UNROLL for (int kx = 0; kx < 3; kx++) acc[t][k][kx] = splat(0);
    for (int yy = 0; yy < ho; yy++) {
        const float *xr = x + (long)yy * S * wp;
        const float *d = dyt + (long)yy * wo * 16;
        prefetch_step(px);
        prefetch_step(pd);
        for (int xx = 0; xx < wo; xx++) {
            const v16f dv = ld(d + xx * 16);
            CK_UNROLL for (int t = 0; t < T; t++) CK_UNROLL for (int k = 0; k < KY; k++)
                CK_UNROLL for (int kx = 0; kx < 3; kx++)
                    acc[t][k][kx] += dv * xr[t * plane + k * wp + xx * S + kx];
        }
    }
    CK_UNROLL for (int t = 0; t < T; t++) CK_UNROLL for (int k = 0; k < KY; k++)
        CK_UNROLL for (int kx = 0; kx < 3; kx++) {
            float *p = dw + (t * 9 + k * 3 + kx) * 16;
            st(p, ld(p) + acc[t][k][kx]);
        }
}

#define CK_DEF_DW(T, KY) \
    static void dw_##T##_##KY##_s1(const float *x, long plane, long wp, const float *dyt, int ho, int wo, float *dw, \
                                   ck_prefetch *px, ck_prefetch *pd) { \
        dw_tile(T, KY, 1, x, plane, wp, dyt, ho, wo, dw, px, pd); } \
    static void dw_##T##_##KY##_s2(const float *x, long plane, long wp, const float *dyt, int ho, int wo, float *dw, \
                                   ck_prefetch *px, ck_prefetch *pd) { \
        dw_tile(T, KY, 2, x, plane, wp, dyt, ho, wo, dw, px, pd); }
CK_DW_TILES(CK_DEF_DW)

static const struct { int t; dw_fn s1, s2; } dw_tiles[] = {
#define CK_DW_ENTRY(T, KY) {T, dw_##T##_##KY##_s1, dw_##T##_##KY##_s2},
    CK_DW_TILES(CK_DW_ENTRY)
};

/* Tiles covering c input channels (the widest that fits, repeatedly). */
/* The tile for the `left` remaining input channels: the widest that fits, except that 4 (or
 * 3k + 1) channels are better covered as 2 + 2 than as 3 + 1. */
static int pick_dw(int left) {
    int i = 0;
    while (dw_tiles[i].t > left) i++;
    const int n = (int)(sizeof dw_tiles / sizeof dw_tiles[0]);
    if (dw_tiles[i].t == 3 && left % 3 == 1 && i + 1 < n && dw_tiles[i + 1].t == 2) i++;
    return i;
}

/* Tiles covering c input channels. */
static long dw_tile_count(int c) {
    long tiles = 0;
    for (int c0 = 0; c0 < c; tiles++) c0 += dw_tiles[pick_dw(c - c0)].t;
    return tiles;
}

void CK_FN(ck_backward_weights)(const ck_shape *g, const float *x, const float *dy, float *dwp, float *dbp,
                                float *xpad, float *dyt) {
    const long plane = g->hp * g->wp, outPlane = (long)g->ho * g->wo;
    const long image = (long)g->c * g->h * g->w, tiles = dw_tile_count(g->c);
    const long steps = (long)g->ob * tiles * (3 / CK_DW_KY) * g->ho;   /* one per row of every tile */
    for (int n = 0; n < g->n; n++) {
        pad_planes(x + n * image, g->c, g->h, g->w, xpad);
        const float *dyn = dy + (long)n * g->o * outPlane;
        const int more = n + 1 < g->n;
        ck_prefetch px = prefetch_plan(more ? x + (n + 1) * image : 0, image, steps);
        ck_prefetch pd = prefetch_plan(more ? dyn + g->o * outPlane : 0, g->o * outPlane, steps);
        for (int ob = 0; ob < g->ob; ob++) {
            const int nch = g->o - ob * 16 < 16 ? g->o - ob * 16 : 16;
            float *block = dyt + ob * outPlane * 16;
            to_pixels(dyn + (long)ob * 16 * outPlane, outPlane, nch, outPlane, block);
            if (dbp) {
                v16f s0 = splat(0), s1 = splat(0);
                long i = 0;
                for (; i + 2 <= outPlane; i += 2) { s0 += ld(block + i * 16); s1 += ld(block + i * 16 + 16); }
                if (i < outPlane) s0 += ld(block + i * 16);
                st(dbp + ob * 16, ld(dbp + ob * 16) + s0 + s1);
            }
            for (int c0 = 0; c0 < g->c;) {
                const int i = pick_dw(g->c - c0);
                for (int ky0 = 0; ky0 < 3; ky0 += CK_DW_KY) {
                    const dw_fn f = g->s == 1 ? dw_tiles[i].s1 : dw_tiles[i].s2;
                    f(xpad + c0 * plane + ky0 * g->wp, plane, g->wp, block, g->ho, g->wo,
                      dwp + (((long)ob * g->c + c0) * 9 + ky0 * 3) * 16, &px, &pd);
                }
                c0 += dw_tiles[i].t;
            }
        }
    }
}

/* ---- stride-2 input gradient: P output pixels scatter KY × 3 taps into padded dX ---- */

typedef void (*sc_fn)(const float *dy, long dplane, int o, const float *w, float *pix, long wp);

CK_ALWAYS void sc_tile(const int P, const int KY, const float *restrict dy, long dplane, int o,
                       const float *restrict w, float *restrict pix, long wp) {
    v16f acc[3][3][3];
    CK_UNROLL for (int p = 0; p < P; p++) CK_UNROLL for (int k = 0; k < KY; k++)
        CK_UNROLL for (int kx = 0; kx < 3; kx++) acc[p][k][kx] = splat(0);
    for (int j = 0; j < o; j++) {
        float v[3];
        CK_UNROLL for (int p = 0; p < P; p++) v[p] = dy[j * dplane + p];
        CK_UNROLL for (int k = 0; k < KY; k++) CK_UNROLL for (int kx = 0; kx < 3; kx++) {
            const v16f wv = ld(w + j * 144 + (k * 3 + kx) * 16);
            CK_UNROLL for (int p = 0; p < P; p++) acc[p][k][kx] += wv * v[p];
        }
    }
    CK_UNROLL for (int p = 0; p < P; p++) CK_UNROLL for (int k = 0; k < KY; k++)
        CK_UNROLL for (int kx = 0; kx < 3; kx++) {
            float *d = pix + (k * wp + 2 * p + kx) * 16;
            st(d, ld(d) + acc[p][k][kx]);
        }
}

#define CK_DEF_SC(P, KY) \
    static void sc_##P##_##KY(const float *dy, long dplane, int o, const float *w, float *pix, long wp) { \
        sc_tile(P, KY, dy, dplane, o, w, pix, wp); }
CK_SC_TILES(CK_DEF_SC)

static const struct { int p; sc_fn f; } sc_tiles[] = {
#define CK_SC_ENTRY(P, KY) {P, sc_##P##_##KY},
    CK_SC_TILES(CK_SC_ENTRY)
};

void CK_FN(ck_backward_data)(const ck_shape *g, const float *dy, const float *wb, float *dx, float *dypad,
                             float *pix) {
    const long inPlane = (long)g->h * g->w, outPlane = (long)g->ho * g->wo;
    for (int n = 0; n < g->n; n++) {
        const float *dyn = dy + (long)n * g->o * outPlane;
        float *dxn = dx + (long)n * g->c * inPlane;
        if (g->s == 1) {
            /* dX = same-padded convolution of dY with the flipped, transposed weights. */
            pad_planes(dyn, g->o, g->h, g->w, dypad);
            conv_image(dypad, g->hp * g->wp, g->wp, g->o, g->cb, 1, g->h, g->w, wb, 0, pix,
                       n + 1 < g->n ? dyn + g->o * outPlane : 0, g->o * outPlane, dxn, g->c * inPlane);
            for (int cb = 0; cb < g->cb; cb++) {
                const int nch = g->c - cb * 16 < 16 ? g->c - cb * 16 : 16;
                to_planes(pix + cb * inPlane * 16, inPlane, dxn + (long)cb * 16 * inPlane, inPlane, nch);
            }
            continue;
        }
        const long padded = g->hp * g->wp;
        for (int cb = 0; cb < g->cb; cb++) {
            float *pb = pix + cb * padded * 16;
            memset(pb, 0, sizeof(float) * 16 * padded);
            for (int y = 0; y < g->ho; y++)
                for (int ky0 = 0; ky0 < 3; ky0 += CK_SC_KY)
                    for (int x0 = 0; x0 < g->wo;) {
                        int i = 0;
                        while (sc_tiles[i].p > g->wo - x0) i++;
                        sc_tiles[i].f(dyn + (long)y * g->wo + x0, outPlane, g->o, wb + (long)cb * g->o * 144 + ky0 * 48,
                                      pb + ((2L * y + ky0) * g->wp + 2L * x0) * 16, g->wp);
                        x0 += sc_tiles[i].p;
                    }
            const int nch = g->c - cb * 16 < 16 ? g->c - cb * 16 : 16;
            for (int y = 0; y < g->h; y++)
                to_planes(pb + ((y + 1) * g->wp + 1) * 16, g->w, dxn + (long)cb * 16 * inPlane + (long)y * g->w,
                          inPlane, nch);
        }
    }
}
