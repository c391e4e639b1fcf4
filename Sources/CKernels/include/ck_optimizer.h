#ifndef CK_OPTIMIZER_H
#define CK_OPTIMIZER_H

/* The Adam update over flat buffers, vectorised (a square root per element keeps a compiled
 * Swift loop scalar on Linux, where Float.squareRoot goes through libm's errno-setting sqrtf).
 *
 * For each i, in single precision, one rounding per operation and no fused multiply–add:
 *     g = grad[i] + weight_decay·p[i]
 *     m[i] = beta1·m[i] + one_minus_beta1·g
 *     v[i] = beta2·v[i] + (one_minus_beta2·g)·g
 *     p[i] = p[i] − (step_size·m[i]) / (√v[i]·inverse_root_correction2 + epsilon)
 * Every path gives the same bits. Paths as for the convolutions (ck_path in ckernels.h);
 * returns 0, or −1 for an unsupported path or a negative count. */

#include "ckernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float weight_decay, step_size, inverse_root_correction2, epsilon;
} ck_adam_coefficients;

int ck_adam_step(ck_path path, long count, float *p, const float *grad, float *m, float *v,
                 ck_adam_coefficients k);

#ifdef __cplusplus
}
#endif
#endif
