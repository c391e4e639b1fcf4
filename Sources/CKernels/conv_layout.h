/* Vectors, loads and stores, the 16 × 16 transposes between NCHW planes and pixel-major
 * blocks, zero-padded copies and software prefetch: the data movement around the kernels of
 * conv_impl.h, which includes this file (so it is compiled once per instruction set too). */

typedef float v16f __attribute__((vector_size(64)));

CK_ALWAYS v16f ld(const float *p) { v16f v; __builtin_memcpy(&v, p, sizeof v); return v; }
CK_ALWAYS void st(float *p, v16f v) { __builtin_memcpy(p, &v, sizeof v); }
CK_ALWAYS v16f splat(float s) { v16f v = {0}; return v + s; }

/* ---- 16 × 16 transposes between NCHW planes and pixel-major blocks ---- */

#define CK_SWAP(a, c, ...) { const v16f a_ = a, c_ = c; CK_SWAP2(a, c, a_, c_, __VA_ARGS__) }
#define CK_SWAP2(a, c, a_, c_, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15) \
    a = __builtin_shufflevector(a_, c_, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15); \
    c = __builtin_shufflevector(a_, c_, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15);
#define CK_PAIRS1(S, ...) S(r0, r1, __VA_ARGS__) S(r2, r3, __VA_ARGS__) S(r4, r5, __VA_ARGS__) S(r6, r7, __VA_ARGS__) S(r8, r9, __VA_ARGS__) S(r10, r11, __VA_ARGS__) S(r12, r13, __VA_ARGS__) S(r14, r15, __VA_ARGS__)
#define CK_PAIRS2(S, ...) S(r0, r2, __VA_ARGS__) S(r1, r3, __VA_ARGS__) S(r4, r6, __VA_ARGS__) S(r5, r7, __VA_ARGS__) S(r8, r10, __VA_ARGS__) S(r9, r11, __VA_ARGS__) S(r12, r14, __VA_ARGS__) S(r13, r15, __VA_ARGS__)
#define CK_PAIRS4(S, ...) S(r0, r4, __VA_ARGS__) S(r1, r5, __VA_ARGS__) S(r2, r6, __VA_ARGS__) S(r3, r7, __VA_ARGS__) S(r8, r12, __VA_ARGS__) S(r9, r13, __VA_ARGS__) S(r10, r14, __VA_ARGS__) S(r11, r15, __VA_ARGS__)
#define CK_PAIRS8(S, ...) S(r0, r8, __VA_ARGS__) S(r1, r9, __VA_ARGS__) S(r2, r10, __VA_ARGS__) S(r3, r11, __VA_ARGS__) S(r4, r12, __VA_ARGS__) S(r5, r13, __VA_ARGS__) S(r6, r14, __VA_ARGS__) S(r7, r15, __VA_ARGS__)
/* 16 × 16 transpose over named registers (an array here ends up in memory: clang merges
 * the row loads into one memcpy before it unrolls). LOAD(k) gives row k, STORE(j, v)
 * takes column j. Four stages of two-source shuffles swap blocks of 8, 4, 2 and 1. */
#define CK_TRANSPOSE16(LOAD, STORE) do { \
    v16f r0 = LOAD(0); v16f r1 = LOAD(1); v16f r2 = LOAD(2); v16f r3 = LOAD(3); v16f r4 = LOAD(4); v16f r5 = LOAD(5); v16f r6 = LOAD(6); v16f r7 = LOAD(7); \
    v16f r8 = LOAD(8); v16f r9 = LOAD(9); v16f r10 = LOAD(10); v16f r11 = LOAD(11); v16f r12 = LOAD(12); v16f r13 = LOAD(13); v16f r14 = LOAD(14); v16f r15 = LOAD(15); \
    CK_PAIRS8(CK_SWAP, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31) \
    CK_PAIRS4(CK_SWAP, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31) \
    CK_PAIRS2(CK_SWAP, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31) \
    CK_PAIRS1(CK_SWAP, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31) \
    STORE(0, r0); STORE(1, r1); STORE(2, r2); STORE(3, r3); STORE(4, r4); STORE(5, r5); STORE(6, r6); STORE(7, r7); \
    STORE(8, r8); STORE(9, r9); STORE(10, r10); STORE(11, r11); STORE(12, r12); STORE(13, r13); STORE(14, r14); STORE(15, r15); \
} while (0)

/* A store that bypasses the caches where the address allows (a whole aligned line). */
CK_ALWAYS void st_stream(float *p, v16f v) {
    if (((unsigned long)p & 63) == 0) __builtin_nontemporal_store(v, (v16f *)p);
    else st(p, v);
}

/* n pixel vectors src[i][16] → channel rows dst[j·stride + i] for j < nch. `stream` writes
 * around the caches: for outputs too large to stay cached, where reading each line in before
 * writing it (write-allocate) costs about a tenth of the forward pass. */
static void to_planes(const float *src, long n, float *dst, long stride, int nch, int stream);

/* Streaming stores of n floats, from the first whole line of dst on. */
CK_ALWAYS void stream_row(const float *src, long n, float *dst) {
    long i = (long)(((64 - ((unsigned long)dst & 63)) & 63) / sizeof(float));
    i = i < n ? i : n;
    for (long k = 0; k < i; k++) dst[k] = src[k];
    for (; i + 16 <= n; i += 16) __builtin_nontemporal_store(ld(src + i), (v16f *)(dst + i));
    for (; i < n; i++) dst[i] = src[i];
}

/* Planes whose rows differ in alignment (e.g. 14 × 14 floats): transposed into a buffer that
 * stays in L1, then each row streamed out from its own first whole line. */
static void to_planes_staged(const float *src, long n, float *dst, long stride, int nch) {
    float stage[16 * 256];
    for (long i0 = 0; i0 < n; i0 += 256) {
        const long m = n - i0 < 256 ? n - i0 : 256;
        to_planes(src + i0 * 16, m, stage, m, nch, 0);
        for (int j = 0; j < nch; j++) stream_row(stage + j * m, m, dst + j * stride + i0);
    }
}

static void to_planes(const float *src, long n, float *dst, long stride, int nch, int stream) {
    long i = 0;
    if (stream && stride % 16 != 0) {
        to_planes_staged(src, n, dst, stride, nch);
        return;
    }
    if (stream) {
        /* Every row has the alignment of the first: start the chunks at its first whole line. */
        long head = (long)(((64 - ((unsigned long)dst & 63)) & 63) / sizeof(float));
        for (head = head < n ? head : n; i < head; i++)
            for (int j = 0; j < nch; j++) dst[j * stride + i] = src[i * 16 + j];
    }
    for (; i + 16 <= n; i += 16) {
        const float *s = src + i * 16;
        float *d = dst + i;
#define CK_LD(k) ld(s + (k) * 16)
#define CK_ST_ALL(j, v) st(d + (j) * stride, v);
#define CK_ST_SOME(j, v) if ((j) < nch) st(d + (j) * stride, v);
#define CK_NT_ALL(j, v) st_stream(d + (j) * stride, v);
#define CK_NT_SOME(j, v) if ((j) < nch) st_stream(d + (j) * stride, v);
        if (stream) {
            if (nch == 16) CK_TRANSPOSE16(CK_LD, CK_NT_ALL);
            else CK_TRANSPOSE16(CK_LD, CK_NT_SOME);
        } else {
            if (nch == 16) CK_TRANSPOSE16(CK_LD, CK_ST_ALL);
            else CK_TRANSPOSE16(CK_LD, CK_ST_SOME);
        }
#undef CK_LD
#undef CK_ST_ALL
#undef CK_ST_SOME
#undef CK_NT_ALL
#undef CK_NT_SOME
    }
    for (; i < n; i++)
        for (int j = 0; j < nch; j++) dst[j * stride + i] = src[i * 16 + j];
}

/* Orders the streaming stores before the call returns. */
CK_ALWAYS void stream_fence(int stream) {
#if defined(__x86_64__)
    if (stream) __builtin_ia32_sfence();
#else
    (void)stream;
#endif
}

/* Channel rows src[j·stride + i] (j < nch; zero beyond) → n pixel vectors dst[i][16]. */
static void to_pixels(const float *src, long stride, int nch, long n, float *dst) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const float *s = src + i;
        float *d = dst + i * 16;
#define CK_LD_ALL(j) ld(s + (j) * stride)
#define CK_LD_SOME(j) ((j) < nch ? ld(s + (j) * stride) : splat(0))
#define CK_ST(k, v) st(d + (k) * 16, v);
        if (nch == 16) CK_TRANSPOSE16(CK_LD_ALL, CK_ST);
        else CK_TRANSPOSE16(CK_LD_SOME, CK_ST);
#undef CK_LD_ALL
#undef CK_LD_SOME
#undef CK_ST
    }
    for (; i < n; i++)
        for (int j = 0; j < 16; j++) dst[i * 16 + j] = j < nch ? src[j * stride + i] : 0;
}

/* n floats, inline (a memcpy call per 28-float row costs a tenth of the forward pass). */
CK_ALWAYS void copy_row(const float *restrict src, int n, float *restrict dst) {
    int i = 0;
    for (; i + 16 <= n; i += 16) st(dst + i, ld(src + i));
    if (i < n && n >= 16) { st(dst + n - 16, ld(src + n - 16)); return; }
    for (; i < n; i++) dst[i] = src[i];
}

/* Software prefetch of the next image, spread over the steps of the current one: the batch
 * streams from memory, and a padded copy or transpose that waits for it costs a fifth of the
 * time of the arithmetic. */
typedef struct { const char *p; long left, per; } ck_prefetch;

CK_ALWAYS ck_prefetch prefetch_plan(const float *p, long floats, long steps) {
    const long lines = p ? (floats * (long)sizeof(float) + 63) / 64 : 0;
    ck_prefetch f = {(const char *)p, lines, steps > 0 ? (lines + steps - 1) / steps : lines};
    return f;
}

CK_ALWAYS void prefetch_step(ck_prefetch *f) {
    const long k = f->per < f->left ? f->per : f->left;
    for (long i = 0; i < k; i++) __builtin_prefetch(f->p + i * 64, 0, 3);
    f->p += k * 64;
    f->left -= k;
}

/* The same for lines about to be written (the output of the current image). */
CK_ALWAYS void prefetch_step_write(ck_prefetch *f) {
    const long k = f->per < f->left ? f->per : f->left;
    for (long i = 0; i < k; i++) __builtin_prefetch(f->p + i * 64, 1, 3);
    f->p += k * 64;
    f->left -= k;
}

/* Interior of a zero-bordered (h + 2) × (w + 2) plane per channel. */
static void pad_planes(const float *src, int ch, int h, int w, float *dst) {
    const long wp = w + 2, plane = (long)(h + 2) * wp;
    for (int c = 0; c < ch; c++)
        for (int y = 0; y < h; y++)
            copy_row(src + ((long)c * h + y) * w, w, dst + c * plane + (y + 1) * wp + 1);
}
