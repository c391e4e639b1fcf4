#ifndef CK_INTERNAL_H
#define CK_INTERNAL_H
/* Shared between the dispatcher (ckernels.c) and the per-instruction-set files. */

/* One convolution's geometry. Channel counts are rounded up to blocks of 16 lanes ("cb", "ob");
 * padded planes are (h + 2) × (w + 2) with a zero border. */
typedef struct {
    int n, c, o, h, w, s;      /* batch, in/out channels, input height/width, stride */
    int ho, wo;                /* output height/width */
    int cb, ob;                /* 16-channel blocks of c and o */
    long hp, wp;               /* padded input plane (h + 2) × (w + 2) */
    int stream;                /* write the output (y or dx) around the caches: too large to stay */
} ck_shape;

/* With CK_OUTPUT_AUTO, outputs of a call from this size on are written with streaming stores
 * (they cannot stay in cache for the next layer anyway); smaller ones are left in cache. */
#define CK_STREAM_BYTES (4L << 20)

/* Buffers the dispatcher allocates (64-byte aligned) and packs:
 *  forward:  wf[ob][c][9][16] (lanes = output channels, zero past o), bias[ob·16] or NULL,
 *            xpad[c][hp][wp] zeroed, pix[ob][ho·wo][16].
 *  backward data, stride 1: wb[cb][o][9][16] = w[o][c][8 − t] (lanes = input channels),
 *            dypad[o][h + 2][w + 2] zeroed, pix[cb][h·w][16].
 *  backward data, stride 2: wb[cb][o][9][16] = w[o][c][t], pix[cb][hp·wp][16] (scratch).
 *  backward weights: dwp[ob][c][9][16] and dbp[ob·16] zeroed (summed into the caller's
 *            arrays afterwards), xpad[c][hp][wp] zeroed, dyt[ob][ho·wo][16]. */
#define CK_DECLARE_PATH(suffix) \
    void ck_forward_##suffix(const ck_shape *g, const float *x, const float *wf, const float *bias, float *y, \
                             float *xpad, float *pix); \
    void ck_backward_data_##suffix(const ck_shape *g, const float *dy, const float *wb, float *dx, \
                                   float *dypad, float *pix); \
    void ck_backward_weights_##suffix(const ck_shape *g, const float *x, const float *dy, float *dwp, \
                                      float *dbp, float *xpad, float *dyt); \
    void ck_backward_##suffix(const ck_shape *g, const float *x, const float *dy, const float *wb, float *dx, \
                              float *dwp, float *dbp, float *xpad, float *dyt, float *dypad, float *pix);

CK_DECLARE_PATH(portable)
#if defined(__x86_64__)
CK_DECLARE_PATH(avx2)
CK_DECLARE_PATH(avx512)
#endif

#endif
