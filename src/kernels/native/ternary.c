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

typedef struct {
  const uint8_t *codes;
  int rows, cols;        /* cols = padded columns, a multiple of 256 */
  const int8_t *x;       /* batch * cols */
  const int8_t *xperm;   /* x reordered per block for the 512-bit path (or NULL) */
  const int32_t *xsum;   /* batch * groups: sum of x over each group */
  int batch, gcols, groups;
  int32_t *out;          /* batch * rows * groups */
  int r0, r1;            /* rows of this job */
} job_t;

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

/* ------------------------------------------------------------------ AVX-512 VNNI */
/* A whole 64-byte block of codes per load; field j of it covers planes (half 0, j) and (half 1, j),
   matched by x reordered once per call to [x[32j..32j+31], x[128+32j..128+32j+31]] per j.
   vpdpbusd multiplies unsigned codes by signed x and adds groups of 4 into int32 lanes.
   Groups of 256 or more accumulate across blocks in one register; smaller groups sum each
   256-bit half of each field separately. Four batch rows share each decoded block. */

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) static inline int32_t hsum256_512(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* NT (1..4) batch rows share each decoded block. Field f of a code byte is taken in place by one
   AND (mask 3 << 2f), so its product with x is scaled by 4^f: each field keeps its own accumulator,
   and the reduced sums are shifted back (exact: each is a multiple of 4^f). That saves the shifts a
   decode would need; on this AMD Zen 4 the 512-bit ALU work competes with vpdpbusd. */
VNNI static inline __attribute__((always_inline)) void vnni_tile_wide(const job_t *j, int r, int b0, const int NT) {
  const int blocks_per_group = j->gcols / 256;
  const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c), m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8((char)0xc0);
  const uint8_t *w = j->codes + (size_t)r * (j->cols / 4);
  const int8_t *xp[4];
  __m512i acc[4][4];
  for (int t = 0; t < NT; t++) {
    xp[t] = j->xperm + (size_t)(b0 + t) * j->cols;
    for (int f = 0; f < 4; f++) acc[t][f] = _mm512_setzero_si512();
  }
  int blk = 0;
  for (int g = 0; g < j->groups; g++) {
    for (int e = 0; e < blocks_per_group; e++, blk++) {
      const __m512i c = _mm512_loadu_si512((const void *)(w + blk * 64));
      const __m512i c0 = _mm512_and_si512(c, m0), c1 = _mm512_and_si512(c, m1);
      const __m512i c2 = _mm512_and_si512(c, m2), c3 = _mm512_and_si512(c, m3);
      for (int t = 0; t < NT; t++) {
        const int8_t *xb = xp[t] + blk * 256;
        acc[t][0] = _mm512_dpbusd_epi32(acc[t][0], c0, _mm512_loadu_si512((const void *)xb));
        acc[t][1] = _mm512_dpbusd_epi32(acc[t][1], c1, _mm512_loadu_si512((const void *)(xb + 64)));
        acc[t][2] = _mm512_dpbusd_epi32(acc[t][2], c2, _mm512_loadu_si512((const void *)(xb + 128)));
        acc[t][3] = _mm512_dpbusd_epi32(acc[t][3], c3, _mm512_loadu_si512((const void *)(xb + 192)));
      }
    }
    for (int t = 0; t < NT; t++) {
      int32_t s = _mm512_reduce_add_epi32(acc[t][0]) + (_mm512_reduce_add_epi32(acc[t][1]) >> 2) +
                  (_mm512_reduce_add_epi32(acc[t][2]) >> 4) + (_mm512_reduce_add_epi32(acc[t][3]) >> 6);
      j->out[((size_t)(b0 + t) * j->rows + r) * j->groups + g] = s - j->xsum[(b0 + t) * j->groups + g];
      for (int f = 0; f < 4; f++) acc[t][f] = _mm512_setzero_si512();
    }
  }
}

/* Groups narrower than a block: each 256-bit half of each field is one 32-column plane. */
VNNI static void vnni_narrow(const job_t *j, int r, int b) {
  const __m512i three = _mm512_set1_epi8(3);
  const uint8_t *w = j->codes + (size_t)r * (j->cols / 4);
  const int8_t *xb0 = j->xperm + (size_t)b * j->cols;
  int32_t *o = j->out + ((size_t)b * j->rows + r) * j->groups;
  memset(o, 0, sizeof(int32_t) * j->groups);
  for (int blk = 0; blk < j->cols / 256; blk++) {
    const __m512i c = _mm512_loadu_si512((const void *)(w + blk * 64));
    for (int f = 0; f < 4; f++) {
      const __m512i cf = _mm512_and_si512(_mm512_srli_epi16(c, 2 * f), three);
      const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), cf, _mm512_loadu_si512((const void *)(xb0 + blk * 256 + 64 * f)));
      o[(blk * 256 + 32 * f) / j->gcols] += hsum256_512(_mm512_castsi512_si256(d));
      o[(blk * 256 + 128 + 32 * f) / j->gcols] += hsum256_512(_mm512_extracti64x4_epi64(d, 1));
    }
  }
  for (int g = 0; g < j->groups; g++) o[g] -= j->xsum[b * j->groups + g];
}

/* Rows are taken in chunks so that, for large batches, a tile's activations stay in L1 and the
   chunk's codes in L2 while every tile passes over them. */
#define ROW_CHUNK 32

VNNI static void gemm_vnni(const job_t *j) {
  for (int r0 = j->r0; r0 < j->r1; r0 += ROW_CHUNK) {
    const int r1 = r0 + ROW_CHUNK < j->r1 ? r0 + ROW_CHUNK : j->r1;
    if (j->gcols < 256) {
      for (int r = r0; r < r1; r++)
        for (int b = 0; b < j->batch; b++) vnni_narrow(j, r, b);
      continue;
    }
    for (int b0 = 0; b0 < j->batch; b0 += 4) {
      const int nt = j->batch - b0 < 4 ? j->batch - b0 : 4;
      for (int r = r0; r < r1; r++) {
        switch (nt) {
          case 1: vnni_tile_wide(j, r, b0, 1); break;
          case 2: vnni_tile_wide(j, r, b0, 2); break;
          case 3: vnni_tile_wide(j, r, b0, 3); break;
          default: vnni_tile_wide(j, r, b0, 4); break;
        }
      }
    }
  }
}
#endif

typedef void (*kernel_fn)(const job_t *);
static kernel_fn kernel = gemm_scalar;
static const char *kernel_name = "scalar";
static int needs_xperm = 0;

static void choose_kernel(void) {
#ifdef BITNET_X86
  const char *force = getenv("BITNET_NATIVE_ISA");
  __builtin_cpu_init();
  int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  int avx2 = __builtin_cpu_supports("avx2");
  if (force != NULL && strcmp(force, "scalar") == 0) vnni = avx2 = 0;
  if (force != NULL && strcmp(force, "avx2") == 0) vnni = 0;
  if (vnni) { kernel = gemm_vnni; kernel_name = "avx512-vnni"; needs_xperm = 1; }
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
    if (job.r1 > job.r0) kernel(&job);
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
  const int per = (base->rows + threads - 1) / threads;
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
  kernel(&own);
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
  if (ncodes != (size_t)rows * cols / 4 || nx != (size_t)batch * cols || nout != (size_t)batch * rows * groups)
    return throw_error(env, "array lengths do not match the shape");
  int32_t *xsum = calloc((size_t)batch * groups, sizeof(int32_t));
  int8_t *xperm = needs_xperm ? malloc((size_t)batch * cols) : NULL;
  if (xsum == NULL || (needs_xperm && xperm == NULL)) {
    free(xsum);
    free(xperm);
    return throw_error(env, "out of memory");
  }
  const int8_t *xs = x;
  for (int b = 0; b < batch; b++)
    for (int k = 0; k < cols; k++) xsum[b * groups + k / gcols] += xs[(size_t)b * cols + k];
  if (xperm != NULL) {
    for (int b = 0; b < batch; b++)
      for (int blk = 0; blk < cols / 256; blk++) {
        const int8_t *src = xs + (size_t)b * cols + blk * 256;
        int8_t *dst = xperm + (size_t)b * cols + blk * 256;
        for (int f = 0; f < 4; f++) {
          memcpy(dst + 64 * f, src + 32 * f, 32);
          memcpy(dst + 64 * f + 32, src + 128 + 32 * f, 32);
        }
      }
  }
  job_t job = {codes, rows, cols, x, xperm, xsum, batch, gcols, groups, out, 0, rows};
  run_jobs(&job, threads);
  free(xsum);
  free(xperm);
  return NULL;
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
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
