#include <math.h>
#include <stdlib.h>
#include "native.h"

/* ------------------------------------------------------------------ decode attention */
/* One new query against a KV cache, in the order and precision of the TypeScript reference
   (src/kernels/reference.ts): dots, softmax and the weighted sum in double (BitNet numerics;
   llama.cpp numerics run src/inference/ggml-attention.ts). */

#define DOTS 8

void attention_decode(const float *q, const float *k, const float *v, int pos, int h0, int h1, int heads, int kv_heads, int hd, double *scores,
                      double *acc, float *out) {
  const int kv_dim = hd * kv_heads, group = heads / kv_heads;
  const float scale = (float)(1.0 / sqrt((double)hd));
  for (int h = h0; h < h1; h++) {
    const int kv_base = (h / group) * hd, q_base = h * hd;
    double *qh = acc; /* the query row in double; acc is free until the sum */
    for (int i = 0; i < hd; i++) qh[i] = (double)q[q_base + i];
    /* Eight positions' dots at once, each summed in the reference's order: one dot alone waits on
       its previous add at every step (about 4 cycles a term). */
    int t = 0;
    for (; t + DOTS <= pos + 1; t += DOTS) {
      double dot[DOTS] = {0};
      const float *kt = k + (size_t)t * kv_dim + kv_base;
      for (int i = 0; i < hd; i++)
        for (int u = 0; u < DOTS; u++) dot[u] += qh[i] * kt[(size_t)u * kv_dim + i];
      for (int u = 0; u < DOTS; u++) scores[t + u] = dot[u] * scale;
    }
    for (; t <= pos; t++) {
      const float *kt = k + (size_t)t * kv_dim + kv_base;
      double dot = 0;
      for (int i = 0; i < hd; i++) dot += qh[i] * kt[i];
      scores[t] = dot * scale;
    }
    double max = -INFINITY;
    for (t = 0; t <= pos; t++)
      if (scores[t] > max) max = scores[t];
    double sum = 0;
    for (int t = 0; t <= pos; t++) {
      const double e = exp(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (int i = 0; i < hd; i++) acc[i] = 0;
    for (int t = 0; t <= pos; t++) {
      const float *vt = v + (size_t)t * kv_dim + kv_base;
      const double p = scores[t] / sum;
      for (int i = 0; i < hd; i++) acc[i] = acc[i] + p * vt[i];
    }
    for (int i = 0; i < hd; i++) out[q_base + i] = (float)acc[i];
  }
}


/* Heads r0..r1 of a decode attention (job->ctx: attention_args_t), for the thread pool: heads are
   independent, so any split gives the same values. */
void attention_job(const job_t *job) {
  const attention_args_t *a = job->ctx;
  if (job->r0 >= job->r1) return;
  double *scratch = malloc(sizeof(double) * ((size_t)a->pos + 1 + a->hd));
  if (scratch == NULL) {
    __atomic_store_n(a->failed, 1, __ATOMIC_RELAXED);
    return;
  }
  attention_decode(a->q, a->k, a->v, a->pos, job->r0, job->r1, a->heads, a->kv_heads, a->hd, scratch, scratch + a->pos + 1, a->out);
  free(scratch);
}
