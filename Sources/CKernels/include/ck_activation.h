#ifndef CK_ACTIVATION_H
#define CK_ACTIVATION_H

/* The logistic sigmoid y = 1 / (1 + exp(−x)) element-wise, on the widest vectors the CPU has.
 *
 * exp is ResNetCore's fastExp, operation for operation (single precision, one rounding per
 * operation; the reduction and the polynomial's Horner steps are fused multiply–adds, as Swift's
 * addingProduct): x clamped to [−87.3, 88.3] (a NaN passes through), Cody–Waite reduction
 * x = n·ln2 + r with n = (x·log2e + 1.5·2²³) − 1.5·2²³, the Cephes degree-6 polynomial, scaled by
 * 2ⁿ through the exponent bits. Every path gives the same bits, and the
 * same as the Swift loop. Paths as for the convolutions (ck_path in ckernels.h); x and y may be
 * the same array. Returns 0, or −1 for an unsupported path or a negative count. */

#include "ckernels.h"

#ifdef __cplusplus
extern "C" {
#endif

int ck_sigmoid(ck_path path, long count, const float *x, float *y);

#ifdef __cplusplus
}
#endif
#endif
