/* The AVX-512 path: 16 output channels per zmm, up to 28 accumulators per tile. */
#if defined(__x86_64__)
#include <string.h>
#include "ck_internal.h"

#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512vl,fma"))), apply_to = function)
#define CK_SUFFIX avx512
/* Forward tiles (rows, pixels per row, 16-channel output blocks), largest pixel count first. */
#define CK_FWD_TILES(X) \
    X(1, 28, 1) X(1, 16, 1) X(1, 14, 1) X(1, 8, 1) X(1, 4, 1) X(1, 2, 1) X(1, 1, 1) \
    X(2, 14, 1) X(2, 8, 1) X(2, 4, 1) X(2, 2, 1) X(2, 1, 1) \
    X(1, 14, 2) X(1, 8, 2) X(1, 4, 2) X(1, 2, 2) X(1, 1, 2)
#define CK_QMAX 2
#define CK_R2_MAXP 14
/* Weight-gradient tiles (input channels, kernel rows), most channels first. */
#define CK_DW_TILES(X) X(3, 3) X(2, 3) X(1, 3)
#define CK_DW_KY 3
/* Stride-2 input-gradient tiles (pixels, kernel rows), most pixels first. */
#define CK_SC_TILES(X) X(3, 3) X(2, 3) X(1, 3)
#define CK_SC_KY 3
#include "conv_impl.h"
#pragma clang attribute pop
#endif
