// Native ternary x int8 GEMM for Node (N-API). Layout and problem: src/kernels/types.ts.
// One binary for every x86-64: AVX-512 VNNI and AVX2 paths are compiled with target attributes
// and chosen at run time by CPU feature detection; a portable C loop covers everything else.
// Threads: a persistent pool woken by a condition variable (no spin-waiting: on a busy 2-core
// machine a spinning pool turns 0.1 ms calls into milliseconds when another process holds a core).
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define BITNET_X86 1
#endif

typedef struct job {
  void (*fn)(const struct job *);
  const uint8_t *codes;
  int rows, cols;        /* cols = padded columns, a multiple of 256 */
  const int8_t *x;       /* batch * cols */
  const int32_t *xsum;   /* batch * groups: sum of x over each group */
  int batch, gcols, groups;
  int32_t *out;          /* batch * rows * groups */
  int r0, r1;            /* rows of this job */
  const uint16_t *wh;    /* F16 GEMV: rows * cols halves, x as floats, out as floats */
  const float *xf;
  float *yf;
} job_t;

#define RG_BYTES(cols) ((size_t)(cols) * 4) /* one group of 16 rows: 16 * cols / 4 bytes */

static size_t vertical_size(int rows, int cols) { return (size_t)((rows + 15) / 16) * RG_BYTES(cols); }

static void repack_vertical(const uint8_t *codes, int rows, int cols, uint8_t *dst) {
  const int row_bytes = cols / 4;
  memset(dst, 0x55, vertical_size(rows, cols)); /* padding rows: code 1 = weight 0 */
  for (int r = 0; r < rows; r++) {
    const uint8_t *w = codes + (size_t)r * row_bytes;
    uint8_t *g = dst + (size_t)(r / 16) * RG_BYTES(cols);
    const int i = r % 16;
    for (int kc = 0; kc < cols / 16; kc++) {
      uint8_t *v = g + (size_t)kc * 64 + 4 * i;
      for (int jj = 0; jj < 4; jj++) {
        uint8_t byte = 0;
        for (int f = 0; f < 4; f++) {
          const int k = 16 * kc + 4 * f + jj, e = k & 255;
          const int code = (w[(k >> 8) * 64 + 32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
          byte |= (uint8_t)(code << (2 * f));
        }
        v[jj] = byte;
      }
    }
  }
}

/* ------------------------------------------------------------------ portable C */

static void gemm_scalar(const job_t *j) {
  const int row_bytes = j->cols / 4;
  for (int r = j->r0; r < j->r1; r++) {
    const uint8_t *w = j->codes + (size_t)r * row_bytes;
    for (int b = 0; b < j->batch; b++) {
      const int8_t *x = j->x + (size_t)b * j->cols;
      for (int g = 0; g < j->groups; g++) {
        int32_t acc = 0;
        for (int k = g * j->gcols; k < (g + 1) * j->gcols; k++) {
          int e = k & 255;
          int byte = (k >> 8) * 64 + 32 * (e >> 7) + (e & 31);
          int q = ((w[byte] >> (2 * ((e >> 5) & 3))) & 3) - 1;
          acc += q * x[k];
        }
        j->out[((size_t)b * j->rows + r) * j->groups + g] = acc;
      }
    }
  }
}

#ifdef BITNET_X86
/* ------------------------------------------------------------------ AVX2 */
/* 32 code bytes of a half block hold 4 planes of 32 columns; plane p of the row covers columns
   32p..32p+31, which are contiguous in x. sum(code * x) by maddubs, then minus sum(x). */

__attribute__((target("avx2,fma"))) static inline int32_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2,fma"))) static void gemm_avx2(const job_t *j) {
  const int row_bytes = j->cols / 4, planes = j->cols / 32, per_group = j->gcols / 32;
  const __m256i three = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
  for (int r = j->r0; r < j->r1; r++) {
    const uint8_t *w = j->codes + (size_t)r * row_bytes;
    for (int b = 0; b < j->batch; b++) {
      const int8_t *x = j->x + (size_t)b * j->cols;
      __m256i acc = _mm256_setzero_si256();
      int g = 0, in_group = 0;
      for (int p = 0; p < planes; p++) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(w + (p >> 3) * 64 + ((p >> 2) & 1) * 32));
        c = _mm256_and_si256(_mm256_srli_epi16(c, 2 * (p & 3)), three);
        __m256i xv = _mm256_loadu_si256((const __m256i *)(x + 32 * p));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(c, xv), ones16));
        if (++in_group == per_group) {
          j->out[((size_t)b * j->rows + r) * j->groups + g] = hsum256(acc) - j->xsum[b * j->groups + g];
          acc = _mm256_setzero_si256();
          in_group = 0;
          g++;
        }
      }
    }
  }
}

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* ------------------------------------------------------------------ AVX-512 VNNI, row-interleaved */
/* The VNNI path reads codes repacked once at upload (`prepare`): per group of 16 rows and per 16
   columns, 64 bytes in which byte 4i+j holds, in its four 2-bit fields f, the codes of row i at
   columns 4f+j. Field f decoded (shift, mask) is a vector of 16 rows x 4 columns, which one
   vpdpbusd multiplies by 4 broadcast activations of one batch row: lanes are output rows, so a tile
   needs no horizontal sums, and a 2x8 tile (32 rows, 8 batch rows) keeps 16 accumulators busy over
   the whole row. */

VNNI static inline __attribute__((always_inline)) void vtile(const job_t *j, int rg0, int b0, const int NRG, const int NT) {
  const __m512i three = _mm512_set1_epi8(3);
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg0 * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b0 * cols;
  __m512i acc[8][8];
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    for (int a = 0; a < NRG; a++)
      for (int t = 0; t < NT; t++) acc[a][t] = _mm512_setzero_si512();
    for (int e = 0; e < chunks_per_group; e++, kc++) {
      __m512i c[8];
      for (int a = 0; a < NRG; a++) c[a] = _mm512_loadu_si512((const void *)(w + a * RG_BYTES(cols) + (size_t)kc * 64));
      for (int f = 0; f < 4; f++) {
        const int8_t *xk = x + 16 * kc + 4 * f;
        for (int a = 0; a < NRG; a++) {
          const __m512i d = _mm512_and_si512(f == 0 ? c[a] : _mm512_srli_epi16(c[a], 2 * f), three);
          for (int t = 0; t < NT; t++) {
            int32_t xv;
            memcpy(&xv, xk + t * cols, 4);
            acc[a][t] = _mm512_dpbusd_epi32(acc[a][t], d, _mm512_set1_epi32(xv));
          }
        }
      }
    }
    for (int a = 0; a < NRG; a++) {
      const int r0 = (rg0 + a) * 16;
      const int n = j->rows - r0 < 16 ? j->rows - r0 : 16;
      for (int t = 0; t < NT; t++) {
        const __m512i y = _mm512_sub_epi32(acc[a][t], _mm512_set1_epi32(j->xsum[(b0 + t) * j->groups + g]));
        int32_t *o = j->out + ((size_t)(b0 + t) * j->rows + r0) * j->groups + g;
        if (j->groups == 1) {
          _mm512_mask_storeu_epi32(o, (__mmask16)((1u << n) - 1), y);
        } else {
          int32_t s[16];
          _mm512_storeu_si512((void *)s, y);
          for (int i = 0; i < n; i++) o[(size_t)i * j->groups] = s[i];
        }
      }
    }
  }
}

#define VT(A, T) vtile(j, rg, b0, A, T)

/* Tiles by batch rows left: up to 16 accumulators. */
VNNI static void gemm_vnni_vertical(const job_t *j) {
  const int rg_end = (j->r1 + 15) / 16;
  for (int b0 = 0; b0 < j->batch;) {
    const int left = j->batch - b0;
    const int nt = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
    const int nrg = 16 / nt > 8 ? 8 : 16 / nt;
    int rg = j->r0 / 16;
    for (; rg + nrg <= rg_end; rg += nrg) {
      switch (nt) {
        case 8: VT(2, 8); break;
        case 4: VT(4, 4); break;
        case 2: VT(8, 2); break;
        default: VT(8, 1); break;
      }
    }
    for (; rg < rg_end; rg++) {
      switch (nt) {
        case 8: VT(1, 8); break;
        case 4: VT(1, 4); break;
        case 2: VT(1, 2); break;
        default: VT(1, 1); break;
      }
    }
    b0 += nt;
  }
}
#endif

/* ------------------------------------------------------------------ F16 x F32 GEMV */
/* y[r] = sum_k f16(w[r][k]) * x[k] in float: an F16 output head (llama.cpp keeps token_embd in F16). */

static float half_to_float(uint16_t h) {
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

static void gemv_f16_scalar(const job_t *j) {
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    float acc = 0;
    for (int k = 0; k < j->cols; k++) acc += half_to_float(w[k]) * j->xf[k];
    j->yf[r] = acc;
  }
}

#ifdef BITNET_X86
__attribute__((target("avx2,fma,f16c"))) static void gemv_f16_avx2(const job_t *j) {
  const int n8 = j->cols / 8 * 8;
  for (int r = j->r0; r < j->r1; r++) {
    const uint16_t *w = j->wh + (size_t)r * j->cols;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= n8; k += 16) {
      a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k))), _mm256_loadu_ps(j->xf + k), a0);
      a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k + 8))), _mm256_loadu_ps(j->xf + k + 8), a1);
    }
    for (; k < n8; k += 8) a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + k))), _mm256_loadu_ps(j->xf + k), a0);
    a0 = _mm256_add_ps(a0, a1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    float acc = _mm_cvtss_f32(s);
    for (; k < j->cols; k++) acc += half_to_float(w[k]) * j->xf[k];
    j->yf[r] = acc;
  }
}

__attribute__((target("avx512f"))) static void gemv_f16_avx512(const job_t *j) {
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

/* ------------------------------------------------------------------ decode attention */
/* One new query against a KV cache, in the order and precision of BitnetRunner's TypeScript
   (src/inference/bitnet-forward.ts): dots, softmax and the weighted sum in double; in llama.cpp
   numerics q and the probabilities are rounded to half and the scores and sums to float. */

#include <math.h>

static uint16_t float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7fffff;
  const int e = (int)((x >> 23) & 0xff);
  if (e == 255) return (uint16_t)(sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
  const int exp = e - 127 + 15;
  if (exp >= 31) return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    const uint32_t m = mant | 0x800000;
    const int shift = 14 - exp;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)exp << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static double round_half(double v) { return half_to_float(float_to_half((float)v)); }

static void attention_decode(const float *q, const float *k, const float *v, int pos, int heads, int kv_heads, int hd, int half,
                             double *scores, double *acc, float *out) {
  const int kv_dim = hd * kv_heads, group = heads / kv_heads;
  const float scale = (float)(1.0 / sqrt((double)hd));
  for (int h = 0; h < heads; h++) {
    const int kv_base = (h / group) * hd, q_base = h * hd;
    double *qh = acc; /* the query row, rounded to half in llama.cpp numerics; acc is free until the sum */
    for (int i = 0; i < hd; i++) qh[i] = half ? round_half(q[q_base + i]) : (double)q[q_base + i];
    double max = -INFINITY;
    for (int t = 0; t <= pos; t++) {
      const float *kt = k + (size_t)t * kv_dim + kv_base;
      double dot = 0;
      for (int i = 0; i < hd; i++) dot += qh[i] * kt[i];
      const double sc = half ? (double)((float)dot * scale) : dot * scale;
      scores[t] = sc;
      if (sc > max) max = sc;
    }
    double sum = 0;
    for (int t = 0; t <= pos; t++) {
      const double e = exp(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (int i = 0; i < hd; i++) acc[i] = 0;
    for (int t = 0; t <= pos; t++) {
      const float *vt = v + (size_t)t * kv_dim + kv_base;
      if (half) {
        const double p = round_half((float)(scores[t] / sum));
        for (int i = 0; i < hd; i++) acc[i] = (float)(acc[i] + p * vt[i]);
      } else {
        const double p = scores[t] / sum;
        for (int i = 0; i < hd; i++) acc[i] = acc[i] + p * vt[i];
      }
    }
    for (int i = 0; i < hd; i++) out[q_base + i] = (float)acc[i];
  }
}

typedef void (*kernel_fn)(const job_t *);
static kernel_fn kernel = gemm_scalar;
static kernel_fn gemv_f16 = gemv_f16_scalar;
static const char *kernel_name = "scalar";
static int vertical = 0;

static void choose_kernel(void) {
#ifdef BITNET_X86
  const char *force = getenv("BITNET_NATIVE_ISA");
  __builtin_cpu_init();
  int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  int avx2 = __builtin_cpu_supports("avx2");
  if (force != NULL && strcmp(force, "scalar") == 0) vnni = avx2 = 0;
  if (force != NULL && strcmp(force, "avx2") == 0) vnni = 0;
  if (vnni || (force == NULL && __builtin_cpu_supports("avx512f"))) gemv_f16 = gemv_f16_avx512;
  else if (avx2 && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma")) gemv_f16 = gemv_f16_avx2;
  if (vnni) { kernel = gemm_vnni_vertical; kernel_name = "avx512-vnni"; vertical = 1; }
  else if (avx2) { kernel = gemm_avx2; kernel_name = "avx2"; }
#endif
}

/* ------------------------------------------------------------------ thread pool */

#define MAX_THREADS 64
static pthread_t workers[MAX_THREADS];
static job_t jobs[MAX_THREADS];
static int started_workers = 0, generation = 0, pending = 0;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_start = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;

static void *worker_main(void *arg) {
  const int id = (int)(intptr_t)arg;
  int seen = 0;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (generation == seen) pthread_cond_wait(&cv_start, &mu);
    seen = generation;
    job_t job = jobs[id];
    pthread_mutex_unlock(&mu);
    if (job.r1 > job.r0) job.fn(&job);
    pthread_mutex_lock(&mu);
    if (--pending == 0) pthread_cond_signal(&cv_done);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static void run_jobs(const job_t *base, int threads) {
  if (threads > base->rows) threads = base->rows;
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  while (started_workers < threads - 1) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&workers[started_workers], &attr, worker_main, (void *)(intptr_t)(started_workers + 1)) != 0) {
      pthread_attr_destroy(&attr);
      break;
    }
    pthread_attr_destroy(&attr);
    started_workers++;
  }
  if (threads - 1 > started_workers) threads = started_workers + 1;
  int per = (base->rows + threads - 1) / threads;
  if (vertical) per = (per + 15) / 16 * 16;
  job_t own = *base;
  own.r0 = 0;
  own.r1 = per < base->rows ? per : base->rows;
  if (threads > 1) {
    pthread_mutex_lock(&mu);
    for (int t = 1; t <= started_workers; t++) {
      jobs[t] = *base;
      jobs[t].r0 = t < threads ? (t * per < base->rows ? t * per : base->rows) : 0;
      jobs[t].r1 = t < threads ? ((t + 1) * per < base->rows ? (t + 1) * per : base->rows) : 0;
    }
    pending = started_workers;
    generation++;
    pthread_cond_broadcast(&cv_start);
    pthread_mutex_unlock(&mu);
  }
  own.fn(&own);
  if (threads > 1) {
    pthread_mutex_lock(&mu);
    while (pending > 0) pthread_cond_wait(&cv_done, &mu);
    pthread_mutex_unlock(&mu);
  }
}

/* ------------------------------------------------------------------ N-API */

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "BITNET_NATIVE", message);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok) return 0;
  return type == want;
}

static int32_t sum_int8(const int8_t *x, int n) {
  int32_t s = 0;
  for (int k = 0; k < n; k++) s += x[k];
  return s;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) return throw_error(env, "gemm(codes, rows, cols, x, batch, groupCols, out, threads)");
  void *codes, *x, *out;
  size_t ncodes, nx, nout;
  int32_t rows, cols, batch, gcols, threads;
  if (!typed(env, argv[0], napi_uint8_array, &codes, &ncodes)) return throw_error(env, "codes must be a Uint8Array");
  if (!typed(env, argv[3], napi_int8_array, &x, &nx)) return throw_error(env, "x must be an Int8Array");
  if (!typed(env, argv[6], napi_int32_array, &out, &nout)) return throw_error(env, "out must be an Int32Array");
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  napi_get_value_int32(env, argv[4], &batch);
  napi_get_value_int32(env, argv[5], &gcols);
  napi_get_value_int32(env, argv[7], &threads);
  if (rows <= 0 || cols <= 0 || cols % 256 != 0 || batch <= 0 || gcols < 32 || gcols % 32 != 0 || cols % gcols != 0)
    return throw_error(env, "bad shape: cols must be a multiple of 256, groupCols a multiple of 32 dividing it");
  const int groups = cols / gcols;
  if (ncodes != (vertical ? vertical_size(rows, cols) : (size_t)rows * cols / 4) || nx != (size_t)batch * cols || nout != (size_t)batch * rows * groups)
    return throw_error(env, "array lengths do not match the shape");
  int32_t *xsum = calloc((size_t)batch * groups, sizeof(int32_t));
  if (xsum == NULL) return throw_error(env, "out of memory");
  const int8_t *xs = x;
  for (int b = 0; b < batch; b++)
    for (int g = 0; g < groups; g++) xsum[b * groups + g] = sum_int8(xs + (size_t)b * cols + (size_t)g * gcols, gcols);
  job_t job = {kernel, codes, rows, cols, x, xsum, batch, gcols, groups, out, 0, rows, NULL, NULL, NULL};
  run_jobs(&job, threads);
  free(xsum);
  return NULL;
}

static napi_value gemv_half(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *w, *x, *y;
  size_t nw, nx, ny;
  int32_t rows, cols, threads;
  if (argc < 6 || !typed(env, argv[0], napi_uint16_array, &w, &nw) || !typed(env, argv[3], napi_float32_array, &x, &nx) || !typed(env, argv[4], napi_float32_array, &y, &ny))
    return throw_error(env, "gemvHalf(weights: Uint16Array, rows, cols, x: Float32Array, out: Float32Array, threads)");
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  napi_get_value_int32(env, argv[5], &threads);
  if (rows <= 0 || cols <= 0 || nw != (size_t)rows * cols || nx != (size_t)cols || ny != (size_t)rows) return throw_error(env, "array lengths do not match the shape");
  job_t job = {gemv_f16, NULL, rows, cols, NULL, NULL, 1, cols, 1, NULL, 0, rows, w, x, y};
  run_jobs(&job, threads);
  return NULL;
}

static napi_value attention(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *q, *k, *v, *out;
  size_t nq, nk, nv, nout;
  int32_t pos, heads, kv_heads, hd;
  bool half;
  if (argc < 9 || !typed(env, argv[0], napi_float32_array, &q, &nq) || !typed(env, argv[1], napi_float32_array, &k, &nk) ||
      !typed(env, argv[2], napi_float32_array, &v, &nv) || !typed(env, argv[8], napi_float32_array, &out, &nout))
    return throw_error(env, "attention(q, kCache, vCache, pos, heads, kvHeads, headDim, half, out)");
  napi_get_value_int32(env, argv[3], &pos);
  napi_get_value_int32(env, argv[4], &heads);
  napi_get_value_int32(env, argv[5], &kv_heads);
  napi_get_value_int32(env, argv[6], &hd);
  napi_get_value_bool(env, argv[7], &half);
  if (pos < 0 || heads <= 0 || kv_heads <= 0 || hd <= 0 || heads % kv_heads != 0 || nq != (size_t)heads * hd || nout != nq ||
      nk < (size_t)(pos + 1) * kv_heads * hd || nv < (size_t)(pos + 1) * kv_heads * hd)
    return throw_error(env, "attention: array lengths do not match the shape");
  double *scores = malloc(sizeof(double) * ((size_t)pos + 1 + hd));
  if (scores == NULL) return throw_error(env, "out of memory");
  attention_decode(q, k, v, pos, heads, kv_heads, hd, half, scores, scores + pos + 1, out);
  free(scores);
  return NULL;
}

static napi_value prepare(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *codes;
  size_t ncodes;
  int32_t rows, cols;
  if (argc < 3 || !typed(env, argv[0], napi_uint8_array, &codes, &ncodes)) return throw_error(env, "prepare(codes, rows, cols)");
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  if (rows <= 0 || cols <= 0 || cols % 256 != 0 || ncodes != (size_t)rows * cols / 4) return throw_error(env, "bad shape: codes must be rows * cols / 4 bytes, cols a multiple of 256");
  if (!vertical) return argv[0];
  void *data;
  napi_value buffer, array;
  const size_t size = vertical_size(rows, cols);
  if (napi_create_arraybuffer(env, size, &data, &buffer) != napi_ok) return throw_error(env, "out of memory");
  repack_vertical(codes, rows, cols, data);
  napi_create_typedarray(env, napi_uint8_array, size, buffer, 0, &array);
  return array;
}

static napi_value features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, kernel_name, NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value init(napi_env env, napi_value exports) {
  choose_kernel();
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"features", NULL, features, NULL, NULL, NULL, napi_default, NULL},
      {"prepare", NULL, prepare, NULL, NULL, NULL, napi_default, NULL},
      {"gemvHalf", NULL, gemv_half, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, attention, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 5, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
