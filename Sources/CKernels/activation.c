/* ck_sigmoid (ck_activation.h): one loop compiled for each instruction set on vectors of its
 * width; the tail runs the same code on a zero-padded vector. */
#include "ck_activation.h"
#include "ck_vecmath.h"

#pragma clang fp contract(off)

#define CK_SIGMOID_LOOP(SUFFIX, LANES)                                                                   \
    CK_VEC_MATH(SUFFIX, LANES)                                                                           \
    static void sigmoid_##SUFFIX(long count, const float *x, float *y) {                                 \
        typedef ck_vf_##SUFFIX V;                                                                        \
        long i = 0;                                                                                      \
        for (; i + LANES <= count; i += LANES) {                                                         \
            V v;                                                                                         \
            __builtin_memcpy(&v, x + i, sizeof v);                                                       \
            v = sigmoid_vec_##SUFFIX(v);                                                                 \
            __builtin_memcpy(y + i, &v, sizeof v);                                                       \
        }                                                                                                \
        if (i < count) {                                                                                 \
            float lane[LANES] = {0};                                                                     \
            V v;                                                                                         \
            for (long j = i; j < count; j++) lane[j - i] = x[j];                                         \
            __builtin_memcpy(&v, lane, sizeof v);                                                        \
            v = sigmoid_vec_##SUFFIX(v);                                                                 \
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
