/* The portable path: the same loops in generic vectors, lowered to whatever the baseline
 * instruction set of the build offers (SSE2 on x86-64, NEON on arm64). */
#include <string.h>
#include "ck_internal.h"

#define CK_SUFFIX portable
#define CK_FWD_TILES(X) X(1, 2, 1) X(1, 1, 1)
#define CK_QMAX 1
#define CK_R2_MAXP 0
#define CK_DW_TILES(X) X(1, 1)
#define CK_DW_KY 1
#define CK_SC_TILES(X) X(1, 1)
#define CK_SC_KY 1
#include "conv_impl.h"
