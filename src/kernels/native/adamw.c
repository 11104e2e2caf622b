/* One AdamW update of a parameter in a single pass (training on the CPU): the moments and the
   weight, in the order and precision of the generic path in src/train/optimizer.ts. */
#include <math.h>
#include "native.h"

void adamw_update(const float *w, const float *g, const float *m, const float *v, float *w_out, float *m_out, float *v_out, size_t n,
                  const adamw_args_t *a) {
  for (size_t i = 0; i < n; i++) {
    const float sg = a->scale * g[i];
    const float mi = a->b1 * m[i] + a->c1 * sg;
    const float vi = a->b2 * v[i] + a->c2 * sg * sg;
    m_out[i] = mi;
    v_out[i] = vi;
    w_out[i] = w[i] - a->lr * (mi / a->bc1 / (sqrtf(vi / a->bc2) + a->eps) + a->decay * w[i]);
  }
}
