/* ck_sigmoid (ck_activation.h): one loop compiled for each instruction set on vectors of its
 * width; the tail runs the same code on a zero-padded vector. */
#include "ck_activation.h"

#pragma clang fp contract(off)

#define CK_SIGMOID_LOOP(SUFFIX, LANES)                                                                   \
    typedef float sig_vec_##SUFFIX __attribute__((ext_vector_type(LANES)));                              \
    typedef int sig_int_##SUFFIX __attribute__((ext_vector_type(LANES)));                                \
    static inline sig_vec_##SUFFIX sigmoid_vec_##SUFFIX(sig_vec_##SUFFIX value) {                        \
        typedef sig_vec_##SUFFIX V;                                                                      \
        typedef sig_int_##SUFFIX I;                                                                      \
        const V lo = -87.3f, hi = 88.3f, round = 12582912.0f;                                            \
        /* Swift's max(value, lo) and min(·, hi): lo when lo >= value, hi when hi < x, else x. */       \
        I below = lo >= value, above = hi < value;                                                       \
        V x = (V)((below & (I)lo) | (~below & (I)value));                                                \
        above = hi < x;                                                                                  \
        x = (V)((above & (I)hi) | (~above & (I)x));                                                      \
        V t = x * 1.44269504f;                                                                           \
        V n = (t + round) - round;                                                                       \
        V r = x - n * 0.693359375f + n * 2.1219444e-4f;                                                  \
        V p = 1.98756915e-4f;                                                                            \
        p = p * r + 1.39819995e-3f;                                                                      \
        p = p * r + 8.3334519e-3f;                                                                       \
        p = p * r + 4.1665796e-2f;                                                                       \
        p = p * r + 0.166666655f;                                                                        \
        p = p * r + 0.500000010f;                                                                        \
        p = p * r * r + r + 1.0f;                                                                        \
        I bits = (__builtin_convertvector(n, I) + 127) << 23;                                            \
        return 1.0f / (1.0f + p * (V)bits);                                                              \
    }                                                                                                    \
    static void sigmoid_##SUFFIX(long count, const float *x, float *y) {                                 \
        typedef sig_vec_##SUFFIX V;                                                                      \
        long i = 0;                                                                                      \
        for (; i + LANES <= count; i += LANES) {                                                         \
            V v;                                                                                         \
            __builtin_memcpy(&v, x + i, sizeof v);                                                       \
            v = sigmoid_vec_##SUFFIX(-v);                                                                \
            __builtin_memcpy(y + i, &v, sizeof v);                                                       \
        }                                                                                                \
        if (i < count) {                                                                                 \
            float lane[LANES] = {0};                                                                     \
            V v;                                                                                         \
            for (long j = i; j < count; j++) lane[j - i] = x[j];                                         \
            __builtin_memcpy(&v, lane, sizeof v);                                                        \
            v = sigmoid_vec_##SUFFIX(-v);                                                                \
            __builtin_memcpy(lane, &v, sizeof v);                                                        \
            for (long j = i; j < count; j++) y[j] = lane[j - i];                                         \
        }                                                                                                \
    }

CK_SIGMOID_LOOP(portable, 4)

#if defined(__x86_64__)
#pragma clang attribute push (__attribute__((target("avx2,fma"))), apply_to = function)
CK_SIGMOID_LOOP(avx2, 8)
#pragma clang attribute pop
#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512vl,fma"))), apply_to = function)
CK_SIGMOID_LOOP(avx512, 16)
#pragma clang attribute pop
#endif

int ck_sigmoid(ck_path path, long count, const float *x, float *y) {
    if (path == CK_PATH_AUTO) path = ck_best_path();
    if (count < 0 || !ck_path_supported(path)) return -1;
    switch (path) {
    case CK_PATH_PORTABLE: sigmoid_portable(count, x, y); return 0;
#if defined(__x86_64__)
    case CK_PATH_AVX2: sigmoid_avx2(count, x, y); return 0;
    case CK_PATH_AVX512: sigmoid_avx512(count, x, y); return 0;
#endif
    default: return -1;
    }
}
