/* The fused element-wise passes of ck_normact.h: one body per instruction set. The sums run on
 * vectors of eight floats (the lane count of the Swift sums they reproduce), the element-wise
 * pass ck_norm_act on CK_WIDE lanes and then vectors of eight; a plane's tail runs the same
 * vector code on zero-padded lanes, and its sums continue element by element as Swift's do. */
#include "ck_normact.h"
#include "ck_vecmath.h"

#pragma clang fp contract(off)

#define CK_LANE_HELPERS(NAME, LANES)                                                                     \
    CK_VEC_MATH(NAME, LANES)                                                                               \
    typedef unsigned short ck_vh_##NAME __attribute__((ext_vector_type(LANES)));                           \
                                                                                                         \
    /* k ≤ LANES floats (zero lanes past k) and back. */                                                    \
    static inline __attribute__((always_inline)) ck_vf_##NAME load_##NAME(const float *p, long k) {  \
        ck_vf_##NAME v = 0;                                                                            \
        if (k == LANES) __builtin_memcpy(&v, p, sizeof v);                                                   \
        else for (long j = 0; j < k; j++) v[j] = p[j];                                                   \
        return v;                                                                                        \
    }                                                                                                    \
    static inline __attribute__((always_inline)) void store_##NAME(float *p, ck_vf_##NAME v, long k) { \
        if (k == LANES) __builtin_memcpy(p, &v, sizeof v);                                                   \
        else for (long j = 0; j < k; j++) p[j] = v[j];                                                   \
    }                                                                                                    \
    /* HalfPrecision.decode / encode lane by lane. */                                                 \
    static inline __attribute__((always_inline)) ck_vf_##NAME load_half_##NAME(const uint16_t *p, long k) { \
        typedef ck_vu_##NAME U;                                                                        \
        typedef ck_vi_##NAME I;                                                                        \
        ck_vh_##NAME h = 0;                                                                            \
        if (k == LANES) __builtin_memcpy(&h, p, sizeof h);                                                   \
        else for (long j = 0; j < k; j++) h[j] = p[j];                                                   \
        U w = __builtin_convertvector(h, U);                                                             \
        U magnitude = w & 0x7FFFu;                                                                       \
        I zero = magnitude == 0u;                                                                        \
        U bits = ((w & 0x8000u) << 16) | (U)(~zero & (I)((magnitude << 13) + 0x38000000u));             \
        return (ck_vf_##NAME)bits;                                                                     \
    }                                                                                                    \
    static inline __attribute__((always_inline)) void store_half_##NAME(uint16_t *p, ck_vf_##NAME v, long k) { \
        typedef ck_vu_##NAME U;                                                                        \
        typedef ck_vi_##NAME I;                                                                        \
        U bits = (U)v;                                                                                   \
        U sign = (bits >> 16) & 0x8000u;                                                                 \
        U magnitude = bits & 0x7FFFFFFFu;                                                                \
        U rebased = magnitude - 0x38000000u;                                                             \
        U rounded = (rebased + 0x0FFFu + ((rebased >> 13) & 1u)) >> 13;                                  \
        I over = 0x7BFFu < rounded;                                                                      \
        rounded = (U)((over & (I)0x7BFF) | (~over & (I)rounded));                                        \
        I small = magnitude < 0x38800000u;                                                               \
        ck_vh_##NAME h = __builtin_convertvector(sign | (U)(~small & (I)rounded), ck_vh_##NAME);     \
        if (k == LANES) __builtin_memcpy(p, &h, sizeof h);                                                   \
        else for (long j = 0; j < k; j++) p[j] = h[j];                                                   \
    }                                                                                                    \
    static inline __attribute__((always_inline)) ck_vf_##NAME activate_##NAME(ck_activation a, ck_vf_##NAME z) { \
        typedef ck_vi_##NAME I;                                                                        \
        switch (a) {                                                                                     \
        case CK_ACT_RELU: { I off = 0.0f >= z; return (ck_vf_##NAME)(~off & (I)z); }                   \
        case CK_ACT_TANH: return tanh_vec_##NAME(z);                                                   \
        default: return sigmoid_vec_##NAME(z);                                                         \
        }                                                                                                \
    }                                                                                                    \
    static inline __attribute__((always_inline)) ck_vf_##NAME derivative_##NAME(ck_activation a, ck_vf_##NAME y, ck_vf_##NAME da) { \
        typedef ck_vi_##NAME I;                                                                        \
        switch (a) {                                                                                     \
        case CK_ACT_RELU: { I on = y > 0.0f; return (ck_vf_##NAME)(on & (I)da); }                       \
        case CK_ACT_TANH: return da * (1.0f - y * y);                                                    \
        default: return da * (y * (1.0f - y));                                                           \
        }                                                                                                \
    }                                                                                                    \
    /* Swift's SIMD.sum(): the lanes in order. */                                                       \
    static inline __attribute__((always_inline)) float lanes_##NAME(ck_vf_##NAME v) {                    \
        float s = -0.0f;                                                                                 \
        for (int j = 0; j < LANES; j++) s += v[j];                                                       \
        return s;                                                                                        \
    }
                                                                                                         \

/* CK_WIDE: the lanes of ck_norm_act's main loop, several registers of the path, so that the
 * sigmoid's long dependency chains (a Horner polynomial kept in its order for the bits, then a
 * division) of independent registers overlap. Per element on an AVX2 EPYC (process CPU time,
 * 16 channels × 784 / 32 × 196, normalise and σ): one register 1.25 ns; two 0.95–1.04 / 1.34–1.46;
 * four 0.72–0.74 / 0.80; eight (64 lanes) 0.66–0.68 / 0.75–0.78. A plane's rest runs in vectors
 * of eight, the last zero-padded (element by element it had cost the 196-pixel planes a third). */

#define CK_NORMACT(SUFFIX, CK_WIDE)                                                                      \
    CK_LANE_HELPERS(SUFFIX, 8)                                                                           \
    CK_LANE_HELPERS(SUFFIX##_wide, CK_WIDE)                                                              \
                                                                                                         \
    static inline __attribute__((always_inline)) void norm_act_body_##SUFFIX(                            \
        ck_activation a, long channels, long plane, const float *x, const uint16_t *x_half,              \
        const float *mean, const float *inv_std, const float *gamma, const float *beta, float *xhat,     \
        uint16_t *xhat_half, float *y) {                                                                 \
        for (long c = 0; c < channels; c++) {                                                            \
            const long o = c * plane;                                                                    \
            const float g = gamma[c], b = beta[c];                                                       \
            const float m = mean && !x_half ? mean[c] : 0.0f, s = mean && !x_half ? inv_std[c] : 1.0f;   \
            long i = 0;                                                                                  \
            for (; i + CK_WIDE <= plane; i += CK_WIDE) {                                                 \
                ck_vf_##SUFFIX##_wide v = x_half ? load_half_##SUFFIX##_wide(x_half + o + i, CK_WIDE) : load_##SUFFIX##_wide(x + o + i, CK_WIDE); \
                if (mean && !x_half) v = (v - m) * s;                                                    \
                if (xhat) store_##SUFFIX##_wide(xhat + o + i, v, CK_WIDE);                               \
                if (xhat_half) store_half_##SUFFIX##_wide(xhat_half + o + i, v, CK_WIDE);                \
                store_##SUFFIX##_wide(y + o + i, activate_##SUFFIX##_wide(a, g * v + b), CK_WIDE);       \
            }                                                                                            \
            /* The rest in vectors of eight (the last zero-padded): the same operations per lane. */   \
            for (; i < plane; i += 8) {                                                                  \
                const long k = plane - i < 8 ? plane - i : 8;                                            \
                ck_vf_##SUFFIX v = x_half ? load_half_##SUFFIX(x_half + o + i, k) : load_##SUFFIX(x + o + i, k); \
                if (mean && !x_half) v = (v - m) * s;                                                    \
                if (xhat) store_##SUFFIX(xhat + o + i, v, k);                                            \
                if (xhat_half) store_half_##SUFFIX(xhat_half + o + i, v, k);                             \
                store_##SUFFIX(y + o + i, activate_##SUFFIX(a, g * v + b), k);                           \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    static void norm_act_##SUFFIX(ck_activation a, long channels, long plane, const float *x,            \
                                  const uint16_t *x_half, const float *mean, const float *inv_std,       \
                                  const float *gamma, const float *beta, float *xhat, uint16_t *xhat_half, \
                                  float *y) {                                                            \
        /* One copy of the loop per activation, so that none tests it per element. */                  \
        switch (a) {                                                                                     \
        case CK_ACT_RELU:                                                                                \
            norm_act_body_##SUFFIX(CK_ACT_RELU, channels, plane, x, x_half, mean, inv_std, gamma, beta, xhat, xhat_half, y); \
            break;                                                                                       \
        case CK_ACT_TANH:                                                                                \
            norm_act_body_##SUFFIX(CK_ACT_TANH, channels, plane, x, x_half, mean, inv_std, gamma, beta, xhat, xhat_half, y); \
            break;                                                                                       \
        default:                                                                                         \
            norm_act_body_##SUFFIX(CK_ACT_SIGMOID, channels, plane, x, x_half, mean, inv_std, gamma, beta, xhat, xhat_half, y); \
        }                                                                                                \
    }                                                                                                    \
                                                                                                         \
    static inline __attribute__((always_inline)) void backward_sums_body_##SUFFIX(                       \
        ck_activation a, long channels, long plane, const float *y, const float *da, float *dz,          \
        const float *xhat, const uint16_t *xhat_half, double *sums) {                                    \
        for (long c = 0; c < channels; c++) {                                                            \
            const long o = c * plane;                                                                    \
            ck_vf_##SUFFIX s1 = 0, s2 = 0;                                                               \
            long i = 0;                                                                                  \
            for (; i + 8 <= plane; i += 8) {                                                             \
                const ck_vf_##SUFFIX d = derivative_##SUFFIX(a, load_##SUFFIX(y + o + i, 8), load_##SUFFIX(da + o + i, 8)); \
                store_##SUFFIX(dz + o + i, d, 8);                                                        \
                const ck_vf_##SUFFIX v = xhat ? load_##SUFFIX(xhat + o + i, 8) : load_half_##SUFFIX(xhat_half + o + i, 8); \
                s1 += d;                                                                                 \
                s2 += d * v;                                                                             \
            }                                                                                            \
            float t1 = lanes_##SUFFIX(s1), t2 = lanes_##SUFFIX(s2);                                      \
            if (i < plane) {                                                                             \
                const long k = plane - i;                                                                \
                const ck_vf_##SUFFIX d = derivative_##SUFFIX(a, load_##SUFFIX(y + o + i, k), load_##SUFFIX(da + o + i, k)); \
                store_##SUFFIX(dz + o + i, d, k);                                                        \
                const ck_vf_##SUFFIX v = xhat ? load_##SUFFIX(xhat + o + i, k) : load_half_##SUFFIX(xhat_half + o + i, k); \
                for (long j = 0; j < k; j++) { t1 += d[j]; t2 += d[j] * v[j]; }                          \
            }                                                                                            \
            sums[c] += (double)t1;                                                                       \
            sums[channels + c] += (double)t2;                                                            \
        }                                                                                                \
    }                                                                                                    \
    static void backward_sums_##SUFFIX(ck_activation a, long channels, long plane, const float *y,       \
                                       const float *da, float *dz, const float *xhat,                    \
                                       const uint16_t *xhat_half, double *sums) {                        \
        switch (a) {                                                                                     \
        case CK_ACT_RELU:                                                                                \
            backward_sums_body_##SUFFIX(CK_ACT_RELU, channels, plane, y, da, dz, xhat, xhat_half, sums); \
            break;                                                                                       \
        case CK_ACT_TANH:                                                                                \
            backward_sums_body_##SUFFIX(CK_ACT_TANH, channels, plane, y, da, dz, xhat, xhat_half, sums); \
            break;                                                                                       \
        default:                                                                                         \
            backward_sums_body_##SUFFIX(CK_ACT_SIGMOID, channels, plane, y, da, dz, xhat, xhat_half, sums); \
        }                                                                                                \
    }                                                                                                    \
                                                                                                         \
    static void input_gradient_##SUFFIX(long channels, long plane, float *dz, const float *xhat,         \
                                        const uint16_t *xhat_half, const float *k3) {                    \
        for (long c = 0; c < channels; c++) {                                                            \
            const long o = c * plane;                                                                    \
            const float scale = k3[3 * c], mean_dz = k3[3 * c + 1], mean_dzx = k3[3 * c + 2];            \
            for (long i = 0; i < plane; i += 8) {                                                        \
                const long k = plane - i < 8 ? plane - i : 8;                                            \
                const ck_vf_##SUFFIX v = xhat ? load_##SUFFIX(xhat + o + i, k) : load_half_##SUFFIX(xhat_half + o + i, k); \
                const ck_vf_##SUFFIX d = load_##SUFFIX(dz + o + i, k);                                   \
                store_##SUFFIX(dz + o + i, scale * ((d - mean_dz) - v * mean_dzx), k);                   \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
                                                                                                         \
    static void channel_sums_##SUFFIX(long channels, long plane, const float *x, double *sums) {          \
        for (long c = 0; c < channels; c++) {                                                            \
            const float *p = x + c * plane;                                                              \
            ck_vf_##SUFFIX s1 = 0, s2 = 0;                                                               \
            long i = 0;                                                                                  \
            for (; i + 8 <= plane; i += 8) {                                                             \
                const ck_vf_##SUFFIX v = load_##SUFFIX(p + i, 8);                                        \
                s1 += v;                                                                                 \
                s2 += v * v;                                                                             \
            }                                                                                            \
            float t1 = lanes_##SUFFIX(s1), t2 = lanes_##SUFFIX(s2);                                      \
            for (; i < plane; i++) { t1 += p[i]; t2 += p[i] * p[i]; }                                    \
            sums[c] += (double)t1;                                                                       \
            sums[channels + c] += (double)t2;                                                            \
        }                                                                                                \
    }

CK_NORMACT(portable, 16)

#if defined(__x86_64__)
#pragma clang attribute push (__attribute__((target("avx2,fma"))), apply_to = function)
CK_NORMACT(avx2, 64)
#pragma clang attribute pop
#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512vl,fma"))), apply_to = function)
CK_NORMACT(avx512, 32)
#pragma clang attribute pop
#endif

/* Resolves AUTO. 0 when the path cannot run. */
static int resolve(ck_path *path) {
    if (*path == CK_PATH_AUTO) *path = ck_best_path();
    return ck_path_supported(*path);
}

static int known(ck_activation a) { return a == CK_ACT_SIGMOID || a == CK_ACT_RELU || a == CK_ACT_TANH; }

int ck_norm_act(ck_path path, ck_activation activation, long channels, long plane, const float *x,
                const uint16_t *x_half, const float *mean, const float *inv_std, const float *gamma,
                const float *beta, float *xhat, uint16_t *xhat_half, float *y) {
    if (!resolve(&path) || !known(activation) || channels < 0 || plane < 0) return -1;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512) {
        norm_act_avx512(activation, channels, plane, x, x_half, mean, inv_std, gamma, beta, xhat, xhat_half, y);
        return 0;
    }
    if (path == CK_PATH_AVX2) {
        norm_act_avx2(activation, channels, plane, x, x_half, mean, inv_std, gamma, beta, xhat, xhat_half, y);
        return 0;
    }
#endif
    norm_act_portable(activation, channels, plane, x, x_half, mean, inv_std, gamma, beta, xhat, xhat_half, y);
    return 0;
}

int ck_act_backward_sums(ck_path path, ck_activation activation, long channels, long plane, const float *y,
                         const float *da, float *dz, const float *xhat, const uint16_t *xhat_half,
                         double *sums) {
    if (!resolve(&path) || !known(activation) || channels < 0 || plane < 0) return -1;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512) {
        backward_sums_avx512(activation, channels, plane, y, da, dz, xhat, xhat_half, sums);
        return 0;
    }
    if (path == CK_PATH_AVX2) {
        backward_sums_avx2(activation, channels, plane, y, da, dz, xhat, xhat_half, sums);
        return 0;
    }
#endif
    backward_sums_portable(activation, channels, plane, y, da, dz, xhat, xhat_half, sums);
    return 0;
}

int ck_bn_input_gradient(ck_path path, long channels, long plane, float *dz, const float *xhat,
                         const uint16_t *xhat_half, const float *k) {
    if (!resolve(&path) || channels < 0 || plane < 0) return -1;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512) {
        input_gradient_avx512(channels, plane, dz, xhat, xhat_half, k);
        return 0;
    }
    if (path == CK_PATH_AVX2) {
        input_gradient_avx2(channels, plane, dz, xhat, xhat_half, k);
        return 0;
    }
#endif
    input_gradient_portable(channels, plane, dz, xhat, xhat_half, k);
    return 0;
}

int ck_channel_sums(ck_path path, long channels, long plane, const float *x, double *sums) {
    if (!resolve(&path) || channels < 0 || plane < 0) return -1;
#if defined(__x86_64__)
    if (path == CK_PATH_AVX512) {
        channel_sums_avx512(channels, plane, x, sums);
        return 0;
    }
    if (path == CK_PATH_AVX2) {
        channel_sums_avx2(channels, plane, x, sums);
        return 0;
    }
#endif
    channel_sums_portable(channels, plane, x, sums);
    return 0;
}
