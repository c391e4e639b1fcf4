#ifndef CK_NORMACT_H
#define CK_NORMACT_H

/* The element-wise passes around BatchNorm → σ → convolution, fused: each reads its inputs once
 * and does in one pass what ResNetCore's Swift loops did in two to four (normalise, keep x̂,
 * scale and shift, σ; σ′ and BatchNorm's backward sums; BatchNorm's input gradient).
 *
 * All work channel by channel on C × plane floats (one image, NCHW). Every value is the Swift
 * reference's, bit for bit: the same operations in the same order, one rounding each (no fused
 * multiply–add); sums run in eight lanes (lane i takes elements i, i + 8, …), the lanes added in
 * order 0…7, then the tail element by element, as Kernels.sum*And* do. x̂ kept in half precision
 * uses HalfPrecision's encoding (round to nearest even, below 2⁻¹⁴ to zero, saturate at 65504).
 * Paths as for the convolutions (ck_path in ckernels.h).
 * Functions return 0, or −1 for an unsupported path, a negative size or an unknown activation. */

#include <stdint.h>
#include "ckernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CK_ACT_SIGMOID = 0,   /* 1 / (1 + exp(−z)), exp as ck_sigmoid's */
    CK_ACT_RELU = 1,      /* 0 >= z ? 0 : z (Swift's max(z, 0)) */
    CK_ACT_TANH = 2,      /* 1 − 2 / (exp(2z) + 1) */
} ck_activation;

/* y = σ(γ[c]·v + β[c]) with v = x̂ of each element:
 *   x_half non-null: v = the half value x_half[·];
 *   else mean non-null: v = (x[·] − mean[c]) · inv_std[c];  else v = x[·].
 * v is also written to xhat (Float) and/or xhat_half when those are non-null. */
int ck_norm_act(ck_path path, ck_activation activation, long channels, long plane, const float *x,
                const uint16_t *x_half, const float *mean, const float *inv_std, const float *gamma,
                const float *beta, float *xhat, uint16_t *xhat_half, float *y);

/* dz = da · σ′, σ′ through σ's output y (sigmoid y(1 − y), tanh 1 − y², ReLU y > 0 ? 1 : 0,
 * as dz = y > 0 ? da : 0); dz may be da. Then per channel sums[c] += Σ dz and
 * sums[channels + c] += Σ dz · x̂ (each a Float sum, added to the Double), x̂ from xhat or,
 * when xhat is null, from xhat_half. */
int ck_act_backward_sums(ck_path path, ck_activation activation, long channels, long plane, const float *y,
                         const float *da, float *dz, const float *xhat, const uint16_t *xhat_half,
                         double *sums);

/* BatchNorm's input gradient in place: dz = k[3c] · ((dz − k[3c+1]) − x̂ · k[3c+2]) with
 * k = (γ/σ, mean dz, mean dz·x̂) per channel; x̂ from xhat or, when null, xhat_half. */
int ck_bn_input_gradient(ck_path path, long channels, long plane, float *dz, const float *xhat,
                         const uint16_t *xhat_half, const float *k);

/* sums[c] += Σ x and sums[channels + c] += Σ x² over each channel's plane (Float sums). */
int ck_channel_sums(ck_path path, long channels, long plane, const float *x, double *sums);

#ifdef __cplusplus
}
#endif
#endif
