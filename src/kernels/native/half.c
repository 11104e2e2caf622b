// IEEE half conversions and the F16 x F32 GEMV of an F16 output head.
#include <string.h>
#include "native.h"

/* ------------------------------------------------------------------ F16 x F32 GEMV */
/* y[r] = sum_k f16(w[r][k]) * x[k] in float: an F16 output head (llama.cpp keeps token_embd in F16). */

float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else {
      int e = -1;
      uint32_t m = man;
      do { e++; m <<= 1; } while ((m & 0x400) == 0);
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) bits = sign | 0x7f800000 | (man << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

void gemv_f16_scalar(const job_t *j) {
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    float acc = 0;
    for (int k = 0; k < j->cols; k++) acc += half_to_float(w[k]) * j->xf[k];
    j->yf[r] = acc;
  }
}

#ifdef BITNET_X86
__attribute__((target("avx2,fma,f16c"))) void gemv_f16_avx2(const job_t *j) {
  const int n8 = j->cols / 8 * 8;
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    /* four chains: two left each FMA waiting on the last (4 cycles), about 30 GB/s at most */
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 32 <= n8; k += 32) {
      a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k))), _mm256_loadu_ps(j->xf + k), a0);
      a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k + 8))), _mm256_loadu_ps(j->xf + k + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k + 16))), _mm256_loadu_ps(j->xf + k + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k + 24))), _mm256_loadu_ps(j->xf + k + 24), a3);
    }
    for (; k < n8; k += 8) a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k))), _mm256_loadu_ps(j->xf + k), a0);
    a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    float acc = _mm_cvtss_f32(s);
    for (; k < j->cols; k++) acc += half_to_float(w[k]) * j->xf[k];
    j->yf[r] = acc;
  }
}

__attribute__((target("avx512f"))) void gemv_f16_avx512(const job_t *j) {
  const int n16 = j->cols / 16 * 16;
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= n16; k += 32) {
      a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k))), _mm512_loadu_ps(j->xf + k), a0);
      a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k + 16))), _mm512_loadu_ps(j->xf + k + 16), a1);
    }
    for (; k < n16; k += 16) a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + k))), _mm512_loadu_ps(j->xf + k), a0);
    float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; k < j->cols; k++) acc += half_to_float(w[k]) * j->xf[k];
    j->yf[r] = acc;
  }
}
#endif
