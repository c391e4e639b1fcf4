/* ck_adam_step (ck_optimizer.h): one loop, compiled for each instruction set on vectors of its
 * width, with the tail in scalars of the same arithmetic. */
#include "ck_optimizer.h"

#pragma clang fp contract(off)

/* One element in scalars, the reference arithmetic of the header. */
static inline void adam_one(float *p, const float *grad, float *m, float *v, const ck_adam_coefficients *k) {
    float g = *grad + k->weight_decay * *p;
    *m = k->beta1 * *m + k->one_minus_beta1 * g;
    *v = k->beta2 * *v + k->one_minus_beta2 * g * g;
    *p = *p - k->step_size * *m / (__builtin_sqrtf(*v) * k->inverse_root_correction2 + k->epsilon);
}

#define CK_ADAM_LOOP(SUFFIX, LANES)                                                                      \
    typedef float adam_vec_##SUFFIX __attribute__((ext_vector_type(LANES)));                             \
    static void adam_##SUFFIX(long count, float *p, const float *grad, float *m, float *v,               \
                              const ck_adam_coefficients *k) {                                           \
        typedef adam_vec_##SUFFIX V;                                                                     \
        const V b1 = k->beta1, c1 = k->one_minus_beta1, b2 = k->beta2, c2 = k->one_minus_beta2;          \
        const V wd = k->weight_decay, step = k->step_size, irc = k->inverse_root_correction2;            \
        const V eps = k->epsilon;                                                                        \
        long i = 0;                                                                                      \
        for (; i + LANES <= count; i += LANES) {                                                         \
            V pv, gv, mv, vv;                                                                            \
            __builtin_memcpy(&pv, p + i, sizeof pv);                                                     \
            __builtin_memcpy(&gv, grad + i, sizeof gv);                                                  \
            __builtin_memcpy(&mv, m + i, sizeof mv);                                                     \
            __builtin_memcpy(&vv, v + i, sizeof vv);                                                     \
            V g = gv + wd * pv;                                                                          \
            mv = b1 * mv + c1 * g;                                                                       \
            vv = b2 * vv + c2 * g * g;                                                                   \
            pv = pv - step * mv / (__builtin_elementwise_sqrt(vv) * irc + eps);                          \
            __builtin_memcpy(p + i, &pv, sizeof pv);                                                     \
            __builtin_memcpy(m + i, &mv, sizeof mv);                                                     \
            __builtin_memcpy(v + i, &vv, sizeof vv);                                                     \
        }                                                                                                \
        for (; i < count; i++) adam_one(p + i, grad + i, m + i, v + i, k);                               \
    }

CK_ADAM_LOOP(portable, 4)

#if defined(__x86_64__)
#pragma clang attribute push (__attribute__((target("avx2,fma"))), apply_to = function)
CK_ADAM_LOOP(avx2, 8)
#pragma clang attribute pop
#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512vl,fma"))), apply_to = function)
CK_ADAM_LOOP(avx512, 16)
#pragma clang attribute pop
#endif

int ck_adam_step(ck_path path, long count, float *p, const float *grad, float *m, float *v,
                 ck_adam_coefficients k) {
    if (path == CK_PATH_AUTO) path = ck_best_path();
    if (count < 0 || !ck_path_supported(path)) return -1;
    switch (path) {
    case CK_PATH_PORTABLE: adam_portable(count, p, grad, m, v, &k); return 0;
#if defined(__x86_64__)
    case CK_PATH_AVX2: adam_avx2(count, p, grad, m, v, &k); return 0;
    case CK_PATH_AVX512: adam_avx512(count, p, grad, m, v, &k); return 0;
#endif
    default: return -1;
    }
}
