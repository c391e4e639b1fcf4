/* The AVX2 + FMA path: a 16-channel block is two ymm registers, 12 accumulators per tile. */
#if defined(__x86_64__)
#include <string.h>
#include "ck_internal.h"

#pragma clang attribute push (__attribute__((target("avx2,fma"))), apply_to = function)
#define CK_SUFFIX avx2
#define CK_FWD_TILES(X) X(1, 6, 1) X(1, 4, 1) X(1, 2, 1) X(1, 1, 1)
#define CK_QMAX 1
#define CK_R2_MAXP 0
#define CK_DW_TILES(X) X(2, 1) X(1, 1)
#define CK_DW_KY 1
#define CK_SC_TILES(X) X(2, 1) X(1, 1)
#define CK_SC_KY 1
#include "conv_impl.h"
#pragma clang attribute pop
#endif
