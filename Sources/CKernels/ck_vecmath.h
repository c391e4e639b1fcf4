#ifndef CK_VECMATH_H
#define CK_VECMATH_H
/* Vector exp, sigmoid and tanh shared by the element-wise kernels (activation.c, normact.c).
 *
 * CK_VEC_MATH(SUFFIX, LANES) defines, for vectors of LANES floats, the types ck_vf_SUFFIX,
 * ck_vi_SUFFIX, ck_vu_SUFFIX and the functions
 *   exp_vec_SUFFIX(x)     ResNetCore's fastExp operation for operation: x clamped to
 *                         [−87.3, 88.3] as Swift's min(max(x, lo), hi) does (a NaN passes),
 *                         Cody–Waite reduction and the Cephes degree-6 polynomial in fused
 *                         multiply–adds (Swift's addingProduct), scaled by 2ⁿ;
 *   sigmoid_vec_SUFFIX(x) 1 / (1 + exp(−x));
 *   tanh_vec_SUFFIX(x)    1 − 2 / (exp(2x) + 1).
 * Each is exactly the Swift expression lane by lane, as long as the including file compiles with
 * `#pragma clang fp contract(off)` (no fused multiply–add but the explicit ones, one rounding per
 * operation). */

#define CK_VEC_MATH(SUFFIX, LANES)                                                                       \
    typedef float ck_vf_##SUFFIX __attribute__((ext_vector_type(LANES)));                                \
    typedef int ck_vi_##SUFFIX __attribute__((ext_vector_type(LANES)));                                  \
    typedef unsigned ck_vu_##SUFFIX __attribute__((ext_vector_type(LANES)));                             \
    static inline __attribute__((always_inline)) ck_vf_##SUFFIX exp_vec_##SUFFIX(ck_vf_##SUFFIX value) { \
        typedef ck_vf_##SUFFIX V;                                                                        \
        typedef ck_vi_##SUFFIX I;                                                                        \
        const V lo = -87.3f, hi = 88.3f, round = 12582912.0f;                                            \
        /* Swift's max(value, lo) and min(·, hi): lo when lo >= value, hi when hi < x, else x. */       \
        I below = lo >= value, above = hi < value;                                                       \
        V x = (V)((below & (I)lo) | (~below & (I)value));                                                \
        above = hi < x;                                                                                  \
        x = (V)((above & (I)hi) | (~above & (I)x));                                                      \
        V t = x * 1.44269504f;                                                                           \
        V n = (t + round) - round;                                                                       \
        V r = __builtin_elementwise_fma(n, (V)2.1219444e-4f, __builtin_elementwise_fma(-n, (V)0.693359375f, x)); \
        /* Horner steps as fused multiply–adds (Swift's addingProduct): one rounding each. */         \
        V p = 1.98756915e-4f;                                                                            \
        p = __builtin_elementwise_fma(p, r, (V)1.39819995e-3f);                                          \
        p = __builtin_elementwise_fma(p, r, (V)8.3334519e-3f);                                           \
        p = __builtin_elementwise_fma(p, r, (V)4.1665796e-2f);                                           \
        p = __builtin_elementwise_fma(p, r, (V)0.166666655f);                                            \
        p = __builtin_elementwise_fma(p, r, (V)0.500000010f);                                            \
        p = __builtin_elementwise_fma(p * r, r, r) + 1.0f;                                               \
        I bits = (__builtin_convertvector(n, I) + 127) << 23;                                            \
        return p * (V)bits;                                                                              \
    }                                                                                                    \
    static inline __attribute__((always_inline)) ck_vf_##SUFFIX sigmoid_vec_##SUFFIX(ck_vf_##SUFFIX x) { \
        return 1.0f / (1.0f + exp_vec_##SUFFIX(-x));                                                     \
    }                                                                                                    \
    static inline __attribute__((always_inline)) ck_vf_##SUFFIX tanh_vec_##SUFFIX(ck_vf_##SUFFIX x) {    \
        return 1.0f - 2.0f / (exp_vec_##SUFFIX(2.0f * x) + 1.0f);                                        \
    }

#endif
