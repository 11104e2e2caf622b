#include <math.h>
#include "native.h"

/* ------------------------------------------------------------------ F16 head in ggml's order */
/* y[r] = the dot product of F16 row r and x as llama.cpp computes it (src/kernels/ggml-f16-dot.ts).
   variant 0 (AVX-512, 16 lanes) and 1 (AVX2, 8 lanes): ggml_vec_dot_f16 on x already rounded to
   half, four vector accumulators fed by FMA over steps of 4 vectors, combined (0+2) + (1+3),
   reduced across lanes, a tail in double. variant 2: the AMX buffer's AVX-512 kernel, x in float,
   one 16-lane accumulator, cols a multiple of 16. CPUs without the instructions run the same lanes
   as scalar fmaf. */

static float reduce_halving(float *v, int n) {
  for (n /= 2; n >= 1; n /= 2)
    for (int i = 0; i < n; i++) v[i] = v[i + n] + v[i];
  return v[0];
}

/* The lanes (already (0+2) + (1+3)) reduced as ggml reduces them, then the tail in double. */
static float finish(float *v, int lanes, const uint16_t *w, const float *x, int np, int n) {
  double total;
  if (lanes == 16) total = reduce_halving(v, 16);
  else {
    const float t0 = v[0] + v[4], t1 = v[1] + v[5], t2 = v[2] + v[6], t3 = v[3] + v[7];
    total = (t0 + t1) + (t2 + t3);
  }
  for (int i = np; i < n; i++) total += (double)(half_to_float(w[i]) * x[i]);
  return (float)total;
}

static float dot_lanes(const uint16_t *w, const float *x, int n, int lanes) {
  float sum[4][16] = {{0}};
  const int step = 4 * lanes, np = n - n % step;
  for (int i = 0; i < np; i += step)
    for (int j = 0; j < 4; j++)
      for (int l = 0; l < lanes; l++) sum[j][l] = fmaf(half_to_float(w[i + j * lanes + l]), x[i + j * lanes + l], sum[j][l]);
  float v[16];
  for (int l = 0; l < lanes; l++) v[l] = (sum[0][l] + sum[2][l]) + (sum[1][l] + sum[3][l]);
  return finish(v, lanes, w, x, np, n);
}

static float dot_amx_lanes(const uint16_t *w, const float *x, int n) {
  float acc[16] = {0};
  for (int i = 0; i < n; i += 16)
    for (int l = 0; l < 16; l++) acc[l] = fmaf(x[i + l], half_to_float(w[i + l]), acc[l]);
  return reduce_halving(acc, 16);
}

void gemv_f16_ggml_scalar(const job_t *j) {
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    j->yf[r] = j->variant == 2 ? dot_amx_lanes(w, j->xf, j->cols) : dot_lanes(w, j->xf, j->cols, j->variant == 0 ? 16 : 8);
  }
}

#ifdef BITNET_X86
__attribute__((target("avx512f,fma,f16c"))) static float dot_avx512(const uint16_t *w, const float *x, int n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  const int np = n - n % 64;
  for (int i = 0; i < np; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), _mm512_loadu_ps(x + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16))), _mm512_loadu_ps(x + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 32))), _mm512_loadu_ps(x + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 48))), _mm512_loadu_ps(x + i + 48), s3);
  }
  float v[16];
  _mm512_storeu_ps(v, _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)));
  return finish(v, 16, w, x, np, n);
}

__attribute__((target("avx2,fma,f16c"))) static float dot_avx2(const uint16_t *w, const float *x, int n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  const int np = n - n % 32;
  for (int i = 0; i < np; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))), _mm256_loadu_ps(x + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8))), _mm256_loadu_ps(x + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 16))), _mm256_loadu_ps(x + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 24))), _mm256_loadu_ps(x + i + 24), s3);
  }
  float v[8];
  _mm256_storeu_ps(v, _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3)));
  return finish(v, 8, w, x, np, n);
}

__attribute__((target("avx512f,fma,f16c"))) static float dot_amx_avx512(const uint16_t *w, const float *x, int n) {
  __m512 acc = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), acc);
  float v[16];
  _mm512_storeu_ps(v, acc);
  return reduce_halving(v, 16);
}

void gemv_f16_ggml_avx512(const job_t *j) {
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    j->yf[r] = j->variant == 2 ? dot_amx_avx512(w, j->xf, j->cols) : dot_avx512(w, j->xf, j->cols);
  }
}

void gemv_f16_ggml_avx2(const job_t *j) {
  for (int r = j->r0; r < j->r1; r++) j->yf[r] = dot_avx2(j->wh + (size_t)r * j->cols, j->xf, j->cols);
}
#endif
