/* Shared by the native addon's files (built together by scripts/build-native.mjs). */
#ifndef BITNET_NATIVE_H
#define BITNET_NATIVE_H
#include <stddef.h>
#include <stdint.h>
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
  int variant;           /* ggml head: whose summation order to follow (0 AVX-512, 1 AVX2, 2 the AMX buffer's kernel) */
  const void *ctx;       /* other kernels' arguments (sgemm.c) */
  int align;             /* rows per thread round to this (0: the ternary kernel's rule) */
} job_t;

typedef void (*kernel_fn)(const job_t *);

/* ternary.c: packed ternary x int8 GEMM kernels, chosen by CPU features */
typedef struct {
  kernel_fn gemm;
  kernel_fn gemv_f16;
  const char *name;
  int vertical; /* codes repacked by 16 rows (repack_vertical); thread row splits align to 16 */
} kernels_t;
extern kernels_t kernels;
void choose_kernels(void);
/* The VNNI GEMV's choice (ternary.c): packed weight bytes prepared (+) or collected (-); force 1 stream, 2 tile, 0 by working set */
void ternary_weight_bytes(long long delta);
void ternary_gemv_choice(int choice);
int ternary_gemv_streams(void);
size_t vertical_size(int rows, int cols);
void repack_vertical(const uint8_t *codes, int rows, int cols, uint8_t *dst);

/* entry.c: the ternary GEMM's C entry points (the addon's and the C test driver's); ternary_gemm returns an error message or NULL */
size_t ternary_prepared_size(int rows, int cols);
void ternary_prepare(const uint8_t *codes, int rows, int cols, uint8_t *dst);
/* The layout the kernel reads, made in place: 0 it reads the rows layout as is, 1 converted, 2 not
   possible (rows not a multiple of 16: ternary_prepare into a larger buffer), -1 out of memory. */
int ternary_prepare_in_place(uint8_t *codes, int rows, int cols);
const char *ternary_gemm(const uint8_t *codes, size_t ncodes, int rows, int cols, const int8_t *x, size_t nx, int batch, int gcols, int32_t *out, size_t nout,
                         int threads);

/* ternary-arm.c: the ARM64 NEON kernels (dotprod, i8mm, plain), chosen at run time */
#if defined(__aarch64__)
void choose_kernels_arm(const char *force);
#endif

/* half.c: IEEE half conversions and the F16 x F32 GEMV kernels */
float half_to_float(uint16_t h);
void gemv_f16_scalar(const job_t *j);
#ifdef BITNET_X86
void gemv_f16_avx2(const job_t *j);
void gemv_f16_avx512(const job_t *j);
#endif

/* ggml.c: the F16 head in ggml_vec_dot_f16's summation order */
void gemv_f16_ggml_scalar(const job_t *j);
#ifdef BITNET_X86
void gemv_f16_ggml_avx512(const job_t *j);
void gemv_f16_ggml_avx2(const job_t *j);
#endif

/* attention.c: one query row against a KV cache (heads h0..h1; scores: pos + 1 doubles, acc: hd) */
void attention_decode(const float *q, const float *k, const float *v, int pos, int h0, int h1, int heads, int kv_heads, int hd, double *scores, double *acc,
                      float *out);
typedef struct {
  const float *q, *k, *v;
  int pos, heads, kv_heads, hd;
  float *out;
  int *failed; /* set when a job's scratch could not be allocated */
} attention_args_t;
void attention_job(const job_t *job);
void choose_attention(int avx512, int avx2);

/* silu.c: out = f32(f32(g / (1 + exp(-g))) * up), exp as V8's Math.exp (fdlibm); elements r0..r1 per job */
typedef struct {
  const float *gate, *up;
  float *out;
} silu_args_t;
double fdlibm_exp(double x);
void silu_glu_job(const job_t *job);
void choose_silu(int avx2);

/* pool.c: a persistent thread pool splitting base->rows across threads */
void run_jobs(const job_t *base, int threads);

/* adamw.c: one AdamW update (c1 = 1 - b1, c2 = 1 - b2, bc = bias corrections, scale multiplies the gradient) */
typedef struct {
  float lr, b1, b2, c1, c2, bc1, bc2, eps, decay, scale;
} adamw_args_t;
void adamw_update(const float *w, const float *g, const float *m, const float *v, float *w_out, float *m_out, float *v_out, size_t n, const adamw_args_t *a);

/* sgemm.c: float32 GEMM (training on the CPU) */
void choose_sgemm(int avx512, int avx2);
const char *sgemm_path(void);
int sgemm(const float *a, const float *b, float *c, int batch, int batch_a, int batch_b, int m, int n, int k, int ta, int tb, int threads);

/* train.c: fused training kernels on float32 arrays (the arrays, dims and params of each op: train.c) */
enum { TRAIN_FAKE_QUANT_ROWS, TRAIN_FAKE_QUANT_TERNARY, TRAIN_RMS_NORM, TRAIN_RMS_NORM_BACK, TRAIN_SWIGLU, TRAIN_SWIGLU_BACK, TRAIN_ATTENTION, TRAIN_ATTENTION_BACK };
void choose_train(int avx512, int avx2);
const char *train_path(void);
const char *train_run(int op, float *const *arrays, const size_t *len, int narrays, const int *dims, int ndims, const double *params, int nparams,
                      int threads);

#endif
