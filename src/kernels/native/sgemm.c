/* Float32 GEMM for training on the CPU: C[b] = op(A[b]) op(B[b]), row-major, either operand
   transposed in place, batched (a batch of one broadcasts). B is packed once into panels of NR
   columns (zero-padded), A per thread into panels of MR rows; a register-blocked micro-kernel
   (AVX-512: 12 x 32, AVX2+FMA: 6 x 16, portable C: 4 x 8) walks K in blocks of KC. Threads
   split the batch x row-panel grid. */
#include <stdlib.h>
#include <string.h>
#include "native.h"

#define KC 384

typedef void (*micro_fn)(int kc, const float *ap, const float *bp, float *c, int ldc, int rows, int cols, int accumulate);

typedef struct {
  int mr, nr;
  micro_fn micro;
  const char *name;
} sgemm_kernel_t;

typedef struct {
  const float *a, *bpack;
  float *c;
  int m, n, k, ta;
  size_t stride_a, stride_bpack, stride_c; /* per batch; 0 broadcasts */
  int mtiles, npanels;
  const sgemm_kernel_t *kern;
} sgemm_ctx_t;

/* ------------------------------------------------------------------ micro-kernels */

/* Writes (or adds) the rows x cols corner of an MR x NR tile held in t (row stride NR). */
static void store_tile(const float *t, int nr, float *c, int ldc, int rows, int cols, int accumulate) {
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) c[(size_t)i * ldc + j] = accumulate ? c[(size_t)i * ldc + j] + t[i * nr + j] : t[i * nr + j];
}

static void micro_scalar(int kc, const float *ap, const float *bp, float *c, int ldc, int rows, int cols, int accumulate) {
  float t[4 * 8] = {0};
  for (int p = 0; p < kc; p++)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 8; j++) t[i * 8 + j] += ap[p * 4 + i] * bp[p * 8 + j];
  store_tile(t, 8, c, ldc, rows, cols, accumulate);
}

#ifdef BITNET_X86
/* Twelve named accumulators: as an array, GCC kept them in memory too and stored each one on
   every step of k, which halved the kernel's speed. */
__attribute__((target("avx2,fma"))) static void micro_avx2(int kc, const float *ap, const float *bp, float *c, int ldc, int rows, int cols,
                                                          int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(bp + p * 16), b1 = _mm256_loadu_ps(bp + p * 16 + 8);
    const float *a = ap + p * 6;
#define ROW(i)                                          \
  {                                                     \
    const __m256 ai = _mm256_broadcast_ss(a + i);       \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);         \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);         \
  }
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
  }
  float t[6 * 16];
  const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int i = 0; i < 12; i++) _mm256_storeu_ps(t + i * 8, acc[i]);
  if (rows == 6 && cols == 16) {
    for (int i = 0; i < 6; i++) {
      float *ci = c + (size_t)i * ldc;
      __m256 lo = _mm256_loadu_ps(t + i * 16), hi = _mm256_loadu_ps(t + i * 16 + 8);
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(ci));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(ci + 8));
      }
      _mm256_storeu_ps(ci, lo);
      _mm256_storeu_ps(ci + 8, hi);
    }
    return;
  }
  store_tile(t, 16, c, ldc, rows, cols, accumulate);
}

__attribute__((target("avx512f"))) static void micro_avx512(int kc, const float *ap, const float *bp, float *c, int ldc, int rows, int cols,
                                                           int accumulate) {
  __m512 acc[12][2];
  for (int i = 0; i < 12; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(bp + p * 32), b1 = _mm512_loadu_ps(bp + p * 32 + 16);
    for (int i = 0; i < 12; i++) {
      const __m512 a = _mm512_set1_ps(ap[p * 12 + i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
  for (int i = 0; i < rows; i++) {
    float *ci = c + (size_t)i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(m0, ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(m1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, m0, acc[i][0]);
    _mm512_mask_storeu_ps(ci + 16, m1, acc[i][1]);
  }
}
#endif

static sgemm_kernel_t sgemm_kernel = {4, 8, micro_scalar, "scalar"};

void choose_sgemm(int avx512, int avx2) {
#ifdef BITNET_X86
  if (avx512) sgemm_kernel = (sgemm_kernel_t){12, 32, micro_avx512, "avx512"};
  else if (avx2) sgemm_kernel = (sgemm_kernel_t){6, 16, micro_avx2, "avx2"};
#else
  (void)avx512;
  (void)avx2;
#endif
}

const char *sgemm_path(void) { return sgemm_kernel.name; }

/* ------------------------------------------------------------------ packing */

/* B (k x n, or n x k when transposed) into panels of nr columns: panel j holds k rows of nr. */
static void pack_b(const float *b, int k, int n, int tb, int nr, float *dst) {
  const int panels = (n + nr - 1) / nr;
  for (int jp = 0; jp < panels; jp++) {
    float *d = dst + (size_t)jp * k * nr;
    const int j0 = jp * nr, cols = n - j0 < nr ? n - j0 : nr;
    for (int p = 0; p < k; p++) {
      float *row = d + (size_t)p * nr;
      if (tb)
        for (int j = 0; j < cols; j++) row[j] = b[(size_t)(j0 + j) * k + p];
      else
        memcpy(row, b + (size_t)p * n + j0, sizeof(float) * cols);
      for (int j = cols; j < nr; j++) row[j] = 0;
    }
  }
}

/* Rows i0.. of A (m x k, or k x m when transposed), columns p0..p0+kc, into mr-row k-major order. */
static void pack_a(const float *a, int m, int k, int ta, int i0, int p0, int kc, int mr, float *dst) {
  const int rows = m - i0 < mr ? m - i0 : mr;
  for (int p = 0; p < kc; p++) {
    float *d = dst + (size_t)p * mr;
    if (ta) {
      const float *src = a + (size_t)(p0 + p) * m + i0;
      for (int i = 0; i < rows; i++) d[i] = src[i];
    } else {
      for (int i = 0; i < rows; i++) d[i] = a[(size_t)(i0 + i) * k + p0 + p];
    }
    for (int i = rows; i < mr; i++) d[i] = 0;
  }
}

static void sgemm_job(const job_t *job) {
  const sgemm_ctx_t *x = job->ctx;
  const int mr = x->kern->mr, nr = x->kern->nr;
  float *ap = malloc(sizeof(float) * mr * KC);
  if (ap == NULL) return;
  for (int r = job->r0; r < job->r1; r++) {
    const int bi = r / x->mtiles, i0 = (r % x->mtiles) * mr;
    const float *a = x->a + bi * x->stride_a;
    const float *bpack = x->bpack + bi * x->stride_bpack;
    float *c = x->c + bi * x->stride_c + (size_t)i0 * x->n;
    const int rows = x->m - i0 < mr ? x->m - i0 : mr;
    for (int p0 = 0; p0 < x->k; p0 += KC) {
      const int kc = x->k - p0 < KC ? x->k - p0 : KC;
      pack_a(a, x->m, x->k, x->ta, i0, p0, kc, mr, ap);
      for (int jp = 0; jp < x->npanels; jp++) {
        const int j0 = jp * nr, cols = x->n - j0 < nr ? x->n - j0 : nr;
        x->kern->micro(kc, ap, bpack + (size_t)jp * x->k * nr + (size_t)p0 * nr, c + j0, x->n, rows, cols, p0 > 0);
      }
    }
  }
  free(ap);
}

/* The packed B of the calling thread, kept between calls: a fresh one of a megabyte comes from
   mmap, and faulting its pages in cost a third of a small product's time in a training step. */
static float *packing_buffer(size_t floats) {
  static __thread float *buffer;
  static __thread size_t capacity;
  if (floats > capacity) {
    free(buffer);
    buffer = malloc(sizeof(float) * floats);
    capacity = buffer == NULL ? 0 : floats;
  }
  return buffer;
}

/* C = op(A) op(B) for `batch` products; batch_a / batch_b of 1 broadcast. Returns 0 on out-of-memory. */
int sgemm(const float *a, const float *b, float *c, int batch, int batch_a, int batch_b, int m, int n, int k, int ta, int tb, int threads) {
  const sgemm_kernel_t *kern = &sgemm_kernel;
  if (k == 0) {
    memset(c, 0, sizeof(float) * batch * m * n);
    return 1;
  }
  const int npanels = (n + kern->nr - 1) / kern->nr;
  const size_t panel_floats = (size_t)npanels * kern->nr * k;
  float *bpack = packing_buffer(panel_floats * batch_b);
  if (bpack == NULL) return 0;
  for (int bi = 0; bi < batch_b; bi++) pack_b(b + (size_t)bi * k * n, k, n, tb, kern->nr, bpack + bi * panel_floats);
  sgemm_ctx_t ctx = {a, bpack, c, m, n, k, ta, batch_a == 1 ? 0 : (size_t)m * k, batch_b == 1 ? 0 : panel_floats, (size_t)m * n, (m + kern->mr - 1) / kern->mr,
                     npanels, kern};
  job_t job = {0};
  job.fn = sgemm_job;
  job.rows = batch * ctx.mtiles;
  job.r1 = job.rows;
  job.ctx = &ctx;
  job.align = 1;
  run_jobs(&job, threads);
  return 1;
}
