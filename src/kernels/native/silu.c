// SiLU-GLU of the decoder's MLP, out = f32(f32(g / (1 + exp(-g))) * up), with exp computed as
// V8's Math.exp computes it (fdlibm's e_exp.c, which V8 ports in src/base/ieee754.cc), so the
// values are those of the TypeScript loop it replaces, bit for bit, on every path. The AVX2 path
// runs fdlibm's steps on 4 doubles at once, its branches as blends; lanes where |x| >= 700 (or
// NaN) go through the scalar port, which keeps fdlibm's overflow and subnormal cases.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "native.h"

static const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10, INV_LN2 = 1.44269504088896338700e+00;
static const double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
                    P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;
static const double O_THRESHOLD = 7.09782712893383973096e+02, U_THRESHOLD = -7.45133219101941108420e+02, TWO_M1000 = 9.33263618503218878990e-302;

static inline uint32_t high_word(double x) {
  uint64_t b;
  memcpy(&b, &x, 8);
  return (uint32_t)(b >> 32);
}

static inline uint32_t low_word(double x) {
  uint64_t b;
  memcpy(&b, &x, 8);
  return (uint32_t)b;
}

static inline double from_high_word(uint32_t hi) {
  const uint64_t b = (uint64_t)hi << 32;
  double x;
  memcpy(&x, &b, 8);
  return x;
}

/* fdlibm's exp, step for step. */
double fdlibm_exp(double x) {
  uint32_t hx = high_word(x);
  const int xsb = (int)(hx >> 31);
  hx &= 0x7fffffff;
  double hi = 0, lo = 0;
  int k = 0;
  if (hx >= 0x40862E42) { /* |x| >= 709.78... */
    if (hx >= 0x7ff00000) return ((hx & 0xfffff) | low_word(x)) != 0 ? x + x : xsb == 0 ? x : 0.0;
    if (x > O_THRESHOLD) return INFINITY;
    if (x < U_THRESHOLD) return 0.0;
  }
  if (hx > 0x3fd62e42) {   /* |x| > 0.5 ln2 */
    if (hx < 0x3FF0A2B2) { /* and < 1.5 ln2 */
      hi = x - (xsb ? -LN2_HI : LN2_HI);
      lo = xsb ? -LN2_LO : LN2_LO;
      k = 1 - xsb - xsb;
    } else {
      k = (int)(INV_LN2 * x + (xsb ? -0.5 : 0.5));
      const double t = k;
      hi = x - t * LN2_HI;
      lo = t * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) { /* |x| < 2^-28 */
    return 1.0 + x;
  }
  const double t = x * x;
  const double twopk = k >= -1021 ? from_high_word(0x3ff00000u + ((uint32_t)k << 20)) : from_high_word(0x3ff00000u + ((uint32_t)(k + 1000) << 20));
  const double c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const double y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) return k == 1024 ? y * 2.0 * 8.98846567431157953865e+307 : y * twopk;
  return y * twopk * TWO_M1000;
}

static inline float silu_glu_one(float g, float up) {
  const float s = (float)((double)g / (1.0 + fdlibm_exp(-(double)g)));
  return s * up;
}

static void silu_glu_scalar(const float *gate, const float *up, float *out, int n) {
  for (int i = 0; i < n; i++) out[i] = silu_glu_one(gate[i], up[i]);
}

#ifdef BITNET_X86
#define AVX2 __attribute__((target("avx2")))

/* exp of 4 doubles with |x| < 700: fdlibm's three ranges (|x| <= 0.5 ln2, < 1.5 ln2, beyond) and its
   tiny case, each lane's result chosen by blends. (x c) / (c - 2) is -(x c) / (2 - c) exactly, so one
   division serves both formulas. */
AVX2 static inline __m256d exp4(__m256d x) {
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d ax = _mm256_andnot_pd(sign, x);
  const __m256d reduce = _mm256_cmp_pd(ax, _mm256_set1_pd(from_high_word(0x3fd62e43)), _CMP_GE_OQ);
  const __m256d near = _mm256_cmp_pd(ax, _mm256_set1_pd(from_high_word(0x3FF0A2B2)), _CMP_LT_OQ);
  const __m256d tiny = _mm256_cmp_pd(ax, _mm256_set1_pd(from_high_word(0x3e300000)), _CMP_LT_OQ);
  const __m256d half = _mm256_or_pd(_mm256_and_pd(x, sign), _mm256_set1_pd(0.5));
  const __m256d unit = _mm256_or_pd(_mm256_and_pd(x, sign), _mm256_set1_pd(1.0));
  const __m256d far = _mm256_round_pd(_mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(INV_LN2), x), half), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256d t = _mm256_and_pd(_mm256_blendv_pd(far, unit, near), reduce); /* k as a double: +0 where unreduced */
  const __m128i k = _mm256_cvtpd_epi32(t);
  const __m256d hi = _mm256_sub_pd(x, _mm256_mul_pd(t, _mm256_set1_pd(LN2_HI)));
  const __m256d lo = _mm256_mul_pd(t, _mm256_set1_pd(LN2_LO));
  const __m256d r = _mm256_blendv_pd(x, _mm256_sub_pd(hi, lo), reduce);
  const __m256d rr = _mm256_mul_pd(r, r);
  __m256d p = _mm256_add_pd(_mm256_set1_pd(P4), _mm256_mul_pd(rr, _mm256_set1_pd(P5)));
  p = _mm256_add_pd(_mm256_set1_pd(P3), _mm256_mul_pd(rr, p));
  p = _mm256_add_pd(_mm256_set1_pd(P2), _mm256_mul_pd(rr, p));
  p = _mm256_add_pd(_mm256_set1_pd(P1), _mm256_mul_pd(rr, p));
  const __m256d c = _mm256_sub_pd(r, _mm256_mul_pd(rr, p));
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d q = _mm256_div_pd(_mm256_mul_pd(r, c), _mm256_sub_pd(_mm256_set1_pd(2.0), c));
  const __m256d unreduced = _mm256_sub_pd(one, _mm256_sub_pd(_mm256_xor_pd(q, sign), r));
  const __m256i twopk = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k), _mm256_set1_epi64x(1023)), 52);
  const __m256d reduced = _mm256_mul_pd(_mm256_sub_pd(one, _mm256_sub_pd(_mm256_sub_pd(lo, q), hi)), _mm256_castsi256_pd(twopk));
  return _mm256_blendv_pd(_mm256_blendv_pd(unreduced, reduced, reduce), _mm256_add_pd(one, x), tiny);
}

AVX2 static void silu_glu_avx2(const float *gate, const float *up, float *out, int n) {
  const __m256d sign = _mm256_set1_pd(-0.0), limit = _mm256_set1_pd(700.0);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(gate + i));
    const __m256d x = _mm256_xor_pd(g, sign);
    if (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign, x), limit, _CMP_LT_OQ)) != 0xF) {
      silu_glu_scalar(gate + i, up + i, out + i, 4);
      continue;
    }
    const __m256d s = _mm256_div_pd(g, _mm256_add_pd(_mm256_set1_pd(1.0), exp4(x)));
    _mm_storeu_ps(out + i, _mm_mul_ps(_mm256_cvtpd_ps(s), _mm_loadu_ps(up + i)));
  }
  silu_glu_scalar(gate + i, up + i, out + i, n - i);
}
#endif

static void (*silu_glu_fn)(const float *, const float *, float *, int) = silu_glu_scalar;

void choose_silu(int avx2) {
#ifdef BITNET_X86
  if (avx2) silu_glu_fn = silu_glu_avx2;
#else
  (void)avx2;
#endif
}

void silu_glu_job(const job_t *job) {
  const silu_args_t *a = job->ctx;
  if (job->r0 < job->r1) silu_glu_fn(a->gate + job->r0, a->up + job->r0, a->out + job->r0, job->r1 - job->r0);
}
