#include <math.h>
#include <stdlib.h>
#include "native.h"

/* ------------------------------------------------------------------ decode attention */
/* One new query against a KV cache, in the order and precision of the TypeScript reference
   (src/kernels/reference.ts): dots, softmax and the weighted sum in double (BitNet numerics;
   llama.cpp numerics run src/inference/ggml-attention.ts). Each q.k dot sums term i into lane
   i mod 8 and the lanes as ((0+1)+(2+3))+((4+5)+(6+7)): one 512-bit vector, two 256-bit ones or
   eight scalars give the same bits, and products of floats are exact in double. */

#define DOTS 4 /* positions whose dots run side by side (one alone waits on its last add) */

static double lanes_total(const double *l) { return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])); }

static void dots_scalar(const double *qh, const float *k, size_t stride, int hd, int n, double *dots) {
  for (int u = 0; u < n; u++) {
    const float *kt = k + (size_t)u * stride;
    double l[8] = {0};
    for (int i = 0; i < hd; i++) l[i & 7] = l[i & 7] + qh[i] * (double)kt[i];
    dots[u] = lanes_total(l);
  }
}

static void weighted_scalar(double p, const float *vt, int hd, double *acc) {
  for (int i = 0; i < hd; i++) acc[i] = acc[i] + p * (double)vt[i];
}

#ifdef BITNET_X86
/* the terms past the last multiple of 8 go to lanes 0.. in order */
static void tail_terms(const double *qh, const float *kt, int n8, int hd, double *l) {
  for (int i = n8; i < hd; i++) l[i - n8] = l[i - n8] + qh[i] * (double)kt[i];
}

__attribute__((target("avx2"))) static void dots_avx2(const double *qh, const float *k, size_t stride, int hd, int n, double *dots) {
  const int n8 = hd / 8 * 8;
  __m256d lo[DOTS], hi[DOTS];
  for (int u = 0; u < n; u++) lo[u] = hi[u] = _mm256_setzero_pd();
  for (int i = 0; i < n8; i += 8) {
    const __m256d q0 = _mm256_loadu_pd(qh + i), q1 = _mm256_loadu_pd(qh + i + 4);
    for (int u = 0; u < n; u++) {
      const float *kt = k + (size_t)u * stride + i;
      lo[u] = _mm256_add_pd(lo[u], _mm256_mul_pd(q0, _mm256_cvtps_pd(_mm_loadu_ps(kt))));
      hi[u] = _mm256_add_pd(hi[u], _mm256_mul_pd(q1, _mm256_cvtps_pd(_mm_loadu_ps(kt + 4))));
    }
  }
  for (int u = 0; u < n; u++) {
    double l[8];
    _mm256_storeu_pd(l, lo[u]);
    _mm256_storeu_pd(l + 4, hi[u]);
    tail_terms(qh, k + (size_t)u * stride, n8, hd, l);
    dots[u] = lanes_total(l);
  }
}

__attribute__((target("avx2"))) static void weighted_avx2(double p, const float *vt, int hd, double *acc) {
  const __m256d pv = _mm256_set1_pd(p);
  int i = 0;
  for (; i + 4 <= hd; i += 4) _mm256_storeu_pd(acc + i, _mm256_add_pd(_mm256_loadu_pd(acc + i), _mm256_mul_pd(pv, _mm256_cvtps_pd(_mm_loadu_ps(vt + i)))));
  for (; i < hd; i++) acc[i] = acc[i] + p * (double)vt[i];
}

__attribute__((target("avx512f"))) static void dots_avx512(const double *qh, const float *k, size_t stride, int hd, int n, double *dots) {
  const int n8 = hd / 8 * 8;
  __m512d a[DOTS];
  for (int u = 0; u < n; u++) a[u] = _mm512_setzero_pd();
  for (int i = 0; i < n8; i += 8) {
    const __m512d qv = _mm512_loadu_pd(qh + i);
    for (int u = 0; u < n; u++) a[u] = _mm512_add_pd(a[u], _mm512_mul_pd(qv, _mm512_cvtps_pd(_mm256_loadu_ps(k + (size_t)u * stride + i))));
  }
  for (int u = 0; u < n; u++) {
    double l[8];
    _mm512_storeu_pd(l, a[u]);
    tail_terms(qh, k + (size_t)u * stride, n8, hd, l);
    dots[u] = lanes_total(l);
  }
}

__attribute__((target("avx512f"))) static void weighted_avx512(double p, const float *vt, int hd, double *acc) {
  const __m512d pv = _mm512_set1_pd(p);
  int i = 0;
  for (; i + 8 <= hd; i += 8) _mm512_storeu_pd(acc + i, _mm512_add_pd(_mm512_loadu_pd(acc + i), _mm512_mul_pd(pv, _mm512_cvtps_pd(_mm256_loadu_ps(vt + i)))));
  for (; i < hd; i++) acc[i] = acc[i] + p * (double)vt[i];
}
#endif

static void (*dots_fn)(const double *, const float *, size_t, int, int, double *) = dots_scalar;
static void (*weighted_fn)(double, const float *, int, double *) = weighted_scalar;

void choose_attention(int avx512, int avx2) {
#ifdef BITNET_X86
  if (avx512) {
    dots_fn = dots_avx512;
    weighted_fn = weighted_avx512;
  } else if (avx2) {
    dots_fn = dots_avx2;
    weighted_fn = weighted_avx2;
  }
#else
  (void)avx512;
  (void)avx2;
#endif
}

void attention_decode(const float *q, const float *k, const float *v, int pos, int h0, int h1, int heads, int kv_heads, int hd, double *scores,
                      double *acc, float *out) {
  const int kv_dim = hd * kv_heads, group = heads / kv_heads;
  const float scale = (float)(1.0 / sqrt((double)hd));
  for (int h = h0; h < h1; h++) {
    const int kv_base = (h / group) * hd, q_base = h * hd;
    double *qh = acc; /* the query row in double; acc is free until the sum */
    for (int i = 0; i < hd; i++) qh[i] = (double)q[q_base + i];
    for (int t = 0; t <= pos; t += DOTS) {
      const int n = pos + 1 - t < DOTS ? pos + 1 - t : DOTS;
      dots_fn(qh, k + (size_t)t * kv_dim + kv_base, (size_t)kv_dim, hd, n, scores + t);
      for (int u = 0; u < n; u++) scores[t + u] = scores[t + u] * scale;
    }
    double max = -INFINITY;
    for (int t = 0; t <= pos; t++)
      if (scores[t] > max) max = scores[t];
    double sum = 0;
    for (int t = 0; t <= pos; t++) {
      const double e = exp(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (int i = 0; i < hd; i++) acc[i] = 0;
    for (int t = 0; t <= pos; t++) weighted_fn(scores[t] / sum, v + (size_t)t * kv_dim + kv_base, hd, acc);
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
