/* The backward kernels of one instruction-set path: weight gradient, input gradient (stride 1
 * as a forward pass of dY with flipped weights, stride 2 by scattering), and both fused.
 * Included by conv_impl.h after the forward kernels. */

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

/* Weight (and bias) gradient of one image; prefetches the next image's x and dy when given. */
static void dw_image(const ck_shape *g, const float *xn, const float *dyn, float *dwp, float *dbp, float *xpad,
                     float *dyt, const float *xnext, const float *dynext) {
    const long plane = g->hp * g->wp, outPlane = (long)g->ho * g->wo, image = (long)g->c * g->h * g->w;
    const long steps = (long)g->ob * dw_tile_count(g->c) * (3 / CK_DW_KY) * g->ho;   /* rows of every tile */
    ck_prefetch px = prefetch_plan(xnext, image, steps), pd = prefetch_plan(dynext, g->o * outPlane, steps);
    pad_planes(xn, g->c, g->h, g->w, xpad);
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

/* Input gradient of one image; prefetches the next image's dy when given. */
static void dx_image(const ck_shape *g, const float *dyn, const float *wb, float *dxn, float *dypad, float *pix,
                     const float *dynext) {
    const long inPlane = (long)g->h * g->w, outPlane = (long)g->ho * g->wo;
    if (g->s == 1) {
        /* dX = same-padded convolution of dY with the flipped, transposed weights. */
        pad_planes(dyn, g->o, g->h, g->w, dypad);
        conv_image(dypad, g->hp * g->wp, g->wp, g->o, g->cb, 1, g->h, g->w, wb, 0, pix,
                   dynext, g->o * outPlane, g->stream ? 0 : dxn, g->c * inPlane);
        for (int cb = 0; cb < g->cb; cb++) {
            const int nch = g->c - cb * 16 < 16 ? g->c - cb * 16 : 16;
            to_planes(pix + cb * inPlane * 16, inPlane, dxn + (long)cb * 16 * inPlane, inPlane, nch, g->stream);
        }
        return;
    }
    const long padded = g->hp * g->wp;
    ck_prefetch pf = prefetch_plan(dynext, g->o * outPlane, (long)g->cb * g->ho);
    ck_prefetch pw = prefetch_plan(g->stream ? 0 : dxn, g->c * inPlane, (long)g->cb * g->ho);
    for (int cb = 0; cb < g->cb; cb++) {
        float *pb = pix + cb * padded * 16;
        memset(pb, 0, sizeof(float) * 16 * padded);
        for (int y = 0; y < g->ho; y++, prefetch_step(&pf), prefetch_step_write(&pw))
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
                      inPlane, nch, g->stream);
    }
}

void CK_FN(ck_backward_data)(const ck_shape *g, const float *dy, const float *wb, float *dx, float *dypad,
                             float *pix) {
    const long inImage = (long)g->c * g->h * g->w, outImage = (long)g->o * g->ho * g->wo;
    for (int n = 0; n < g->n; n++)
        dx_image(g, dy + n * outImage, wb, dx + n * inImage, dypad, pix, n + 1 < g->n ? dy + (n + 1) * outImage : 0);
    stream_fence(g->stream);
}

void CK_FN(ck_backward_weights)(const ck_shape *g, const float *x, const float *dy, float *dwp, float *dbp,
                                float *xpad, float *dyt) {
    const long inImage = (long)g->c * g->h * g->w, outImage = (long)g->o * g->ho * g->wo;
    for (int n = 0; n < g->n; n++) {
        const int more = n + 1 < g->n;
        dw_image(g, x + n * inImage, dy + n * outImage, dwp, dbp, xpad, dyt, more ? x + (n + 1) * inImage : 0,
                 more ? dy + (n + 1) * outImage : 0);
    }
}

/* Both gradients image by image: dy is read from memory once for the two (dx may be NULL). */
void CK_FN(ck_backward)(const ck_shape *g, const float *x, const float *dy, const float *wb, float *dx, float *dwp,
                        float *dbp, float *xpad, float *dyt, float *dypad, float *pix) {
    const long inImage = (long)g->c * g->h * g->w, outImage = (long)g->o * g->ho * g->wo;
    for (int n = 0; n < g->n; n++) {
        const int more = n + 1 < g->n;
        dw_image(g, x + n * inImage, dy + n * outImage, dwp, dbp, xpad, dyt, more ? x + (n + 1) * inImage : 0,
                 more ? dy + (n + 1) * outImage : 0);
        if (dx) dx_image(g, dy + n * outImage, wb, dx + n * inImage, dypad, pix, 0);
    }
    stream_fence(g->stream);
}
