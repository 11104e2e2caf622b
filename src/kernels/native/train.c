/* Fused training kernels for tfjs-wasm (src/kernels/native/wasm-training.ts): BitLinear's fake
   quantization, RMSNorm, SwiGLU and causal attention with RoPE, forward and backward, each one
   pass over float32 arrays in the wasm heap where the tfjs operations take several kernels.
   Every kernel is a job over rows (run_jobs threads it); its body is compiled three times, for
   AVX-512, AVX2 and plain x86-64 / other CPUs, and chosen with the GEMM (choose_train). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "native.h"

#define INLINE static inline __attribute__((always_inline))

/* fmaxf / fminf without their NaN rules, so that they compile to vector max / min */
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Sixteen independent partial sums: vectorizable without reassociating a single sum. */
#define LANES 16

/* ------------------------------------------------------------------ arguments */

typedef struct {
  float *const *a; /* the op's arrays, in the order train_run documents */
  const int *dims;
  float p[4];
  int *failed; /* set when a job cannot allocate its scratch */
} args_t;

/* ------------------------------------------------------------------ fake quantization */

/* Per row: s = (1 / max(absmax, eps)) * qmax, y = clamp(round_half_even(x * s), qmin, qmax) / s
   (quant/ste.ts quantizeActivationsTensor, the same float32 steps). */
INLINE void fake_quant_rows_body(const job_t *j) {
  const args_t *g = j->ctx;
  const int cols = g->dims[1];
  const float qmin = g->p[0], qmax = g->p[1], eps = g->p[2];
  for (int r = j->r0; r < j->r1; r++) {
    const float *restrict x = g->a[0] + (size_t)r * cols;
    float *restrict y = g->a[1] + (size_t)r * cols;
    float lane[LANES] = {0};
    int c = 0;
    for (; c + LANES <= cols; c += LANES)
      for (int l = 0; l < LANES; l++) lane[l] = MAX(lane[l], fabsf(x[c + l]));
    float absmax = 0;
    for (int l = 0; l < LANES; l++) absmax = MAX(absmax, lane[l]);
    for (; c < cols; c++) absmax = MAX(absmax, fabsf(x[c]));
    const float s = (1.0f / fmaxf(absmax, eps)) * qmax;
    for (c = 0; c < cols; c++) y[c] = MIN(MAX(rintf(x[c] * s), qmin), qmax) / s;
  }
}

/* Rows of the absmean ternary quantization, beta already known: y = clamp(round(w * (1 / beta)), -1, 1) * beta. */
INLINE void fake_quant_ternary_body(const job_t *j) {
  const args_t *g = j->ctx;
  const int cols = g->dims[1];
  const float beta = g->p[0], inv = 1.0f / beta;
  for (int r = j->r0; r < j->r1; r++) {
    const float *restrict w = g->a[0] + (size_t)r * cols;
    float *restrict y = g->a[1] + (size_t)r * cols;
    for (int c = 0; c < cols; c++) {
      const float q = rintf(w[c] * inv);
      y[c] = (q > 1.0f ? 1.0f : q < -1.0f ? -1.0f : q) * beta;
    }
  }
}

/* ------------------------------------------------------------------ RMSNorm */

INLINE float sum_squares(const float *x, int n) {
  float lane[LANES] = {0};
  int c = 0;
  for (; c + LANES <= n; c += LANES)
    for (int l = 0; l < LANES; l++) lane[l] += x[c + l] * x[c + l];
  float s = 0;
  for (int l = 0; l < LANES; l++) s += lane[l];
  for (; c < n; c++) s += x[c] * x[c];
  return s;
}

/* y = x * r * g with r = 1 / sqrt(mean(x^2) + eps), kept per row for the backward. */
INLINE void rms_norm_body(const job_t *j) {
  const args_t *a = j->ctx;
  const int cols = a->dims[1];
  const float *gain = a->a[1];
  for (int r = j->r0; r < j->r1; r++) {
    const float *x = a->a[0] + (size_t)r * cols;
    float *y = a->a[2] + (size_t)r * cols;
    const float inv = 1.0f / sqrtf(sum_squares(x, cols) / (float)cols + a->p[0]);
    a->a[3][r] = inv;
    for (int c = 0; c < cols; c++) y[c] = x[c] * inv * gain[c];
  }
}

/* dx = r g dy - x r^3 mean(g dy x) per row. */
INLINE void rms_norm_dx_body(const job_t *j) {
  const args_t *a = j->ctx;
  const int cols = a->dims[1];
  const float *gain = a->a[2];
  for (int r = j->r0; r < j->r1; r++) {
    const float *dy = a->a[0] + (size_t)r * cols, *x = a->a[1] + (size_t)r * cols;
    float *dx = a->a[4] + (size_t)r * cols;
    const float inv = a->a[3][r];
    float lane[LANES] = {0};
    int c = 0;
    for (; c + LANES <= cols; c += LANES)
      for (int l = 0; l < LANES; l++) lane[l] += dy[c + l] * gain[c + l] * x[c + l];
    float s = 0;
    for (int l = 0; l < LANES; l++) s += lane[l];
    for (; c < cols; c++) s += dy[c] * gain[c] * x[c];
    const float k = inv * inv * inv * (s / (float)cols);
    for (c = 0; c < cols; c++) dx[c] = inv * gain[c] * dy[c] - x[c] * k;
  }
}

/* dg over a block of columns (job rows are blocks of 64 columns): sum over rows of dy x r. */
INLINE void rms_norm_dg_body(const job_t *j) {
  const args_t *a = j->ctx;
  const int rows = a->dims[0], cols = a->dims[1];
  const int c0 = j->r0 * 64, c1 = j->r1 * 64 < cols ? j->r1 * 64 : cols;
  float *dg = a->a[5];
  for (int c = c0; c < c1; c++) dg[c] = 0;
  for (int r = 0; r < rows; r++) {
    const float *dy = a->a[0] + (size_t)r * cols, *x = a->a[1] + (size_t)r * cols;
    const float inv = a->a[3][r];
    for (int c = c0; c < c1; c++) dg[c] += dy[c] * x[c] * inv;
  }
}

/* ------------------------------------------------------------------ SwiGLU */

INLINE float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

/* y = sigmoid(gate) * gate * up, over rows of 1024 elements. */
INLINE void swiglu_body(const job_t *j) {
  const args_t *a = j->ctx;
  const size_t n = (size_t)a->dims[0];
  for (size_t i = (size_t)j->r0 * 1024; i < (size_t)j->r1 * 1024 && i < n; i++) {
    const float gate = a->a[0][i];
    a->a[2][i] = sigmoid(gate) * gate * a->a[1][i];
  }
}

/* dgate = dy up s (1 + gate (1 - s)), dup = dy s gate. */
INLINE void swiglu_back_body(const job_t *j) {
  const args_t *a = j->ctx;
  const size_t n = (size_t)a->dims[0];
  for (size_t i = (size_t)j->r0 * 1024; i < (size_t)j->r1 * 1024 && i < n; i++) {
    const float d = a->a[0][i], gate = a->a[1][i], up = a->a[2][i], s = sigmoid(gate);
    a->a[3][i] = d * up * s * (1.0f + gate * (1.0f - s));
    a->a[4][i] = d * (s * gate);
  }
}

/* ------------------------------------------------------------------ causal attention */

/* q [B, T, H, D], k and v [B, T, HKV, D]; NeoX RoPE from cos / sin tables [T, D/2]. A job row is
   one (batch, kv head): its query heads share the keys and values, whose gradients it sums. */
typedef struct {
  int b, t, h, hkv, d;
  float scale;
} att_shape_t;

static att_shape_t att_shape(const args_t *a) {
  const att_shape_t s = {a->dims[0], a->dims[1], a->dims[2], a->dims[3], a->dims[4], (float)(1.0 / sqrt((double)a->dims[4]))};
  return s;
}

/* Copies head rows of x (row stride `stride`) into dst [T, D], rotated when cs is given. */
INLINE void load_head(const float *x, size_t stride, int t, int d, const float *cs, const float *sn, float *dst) {
  const int half = d / 2;
  for (int i = 0; i < t; i++) {
    const float *row = x + (size_t)i * stride;
    float *out = dst + (size_t)i * d;
    if (cs == NULL) {
      memcpy(out, row, sizeof(float) * d);
      continue;
    }
    const float *c = cs + (size_t)i * half, *s = sn + (size_t)i * half;
    for (int k = 0; k < half; k++) {
      out[k] = row[k] * c[k] - row[k + half] * s[k];
      out[k + half] = row[k] * s[k] + row[k + half] * c[k];
    }
  }
}

/* Writes src [T, D] to head rows of x, rotated back (the transpose of the rotation) when cs is given. */
INLINE void store_head(const float *src, int t, int d, const float *cs, const float *sn, float *x, size_t stride) {
  const int half = d / 2;
  for (int i = 0; i < t; i++) {
    const float *in = src + (size_t)i * d;
    float *row = x + (size_t)i * stride;
    if (cs == NULL) {
      memcpy(row, in, sizeof(float) * d);
      continue;
    }
    const float *c = cs + (size_t)i * half, *s = sn + (size_t)i * half;
    for (int k = 0; k < half; k++) {
      row[k] = in[k] * c[k] + in[k + half] * s[k];
      row[k + half] = in[k + half] * c[k] - in[k] * s[k];
    }
  }
}

INLINE void transpose_head(const float *x, int t, int d, float *xt) {
  for (int i = 0; i < t; i++)
    for (int k = 0; k < d; k++) xt[(size_t)k * t + i] = x[(size_t)i * d + k];
}

/* scores[0..n) = scale * (q . kt[:, j]) for j < n, as axpys over the transposed keys. */
INLINE void score_row(const float *q, const float *kt, int t, int d, int n, float scale, float *scores) {
  for (int j = 0; j < n; j++) scores[j] = 0;
  for (int k = 0; k < d; k++) {
    const float qk = q[k];
    const float *col = kt + (size_t)k * t;
    for (int j = 0; j < n; j++) scores[j] += qk * col[j];
  }
  for (int j = 0; j < n; j++) scores[j] *= scale;
}

INLINE void axpy(float alpha, const float *x, float *y, int n) {
  for (int i = 0; i < n; i++) y[i] += alpha * x[i];
}

/* Scratch of one attention job, in floats: q, k, kt, v (or vt), and three [T, D] gradient blocks plus two score rows. */
static size_t att_scratch(const att_shape_t *s) { return (size_t)7 * s->t * s->d + 2 * (size_t)s->t; }

INLINE void attention_body(const job_t *j) {
  const args_t *a = j->ctx;
  const att_shape_t s = att_shape(a);
  const int group = s.h / s.hkv, t = s.t, d = s.d;
  float *scratch = malloc(sizeof(float) * att_scratch(&s));
  if (scratch == NULL) {
    *a->failed = 1;
    return;
  }
  float *qh = scratch, *kh = qh + (size_t)t * d, *kt = kh + (size_t)t * d, *vh = kt + (size_t)t * d, *scores = vh + (size_t)t * d;
  const float *cs = a->a[3], *sn = a->a[4];
  for (int job = j->r0; job < j->r1; job++) {
    const int b = job / s.hkv, g = job % s.hkv;
    const size_t kv_stride = (size_t)s.hkv * d, q_stride = (size_t)s.h * d;
    load_head(a->a[1] + (size_t)b * t * kv_stride + (size_t)g * d, kv_stride, t, d, cs, sn, kh);
    transpose_head(kh, t, d, kt);
    load_head(a->a[2] + (size_t)b * t * kv_stride + (size_t)g * d, kv_stride, t, d, NULL, NULL, vh);
    for (int hh = 0; hh < group; hh++) {
      const int h = g * group + hh;
      load_head(a->a[0] + (size_t)b * t * q_stride + (size_t)h * d, q_stride, t, d, cs, sn, qh);
      for (int i = 0; i < t; i++) {
        const int n = i + 1;
        score_row(qh + (size_t)i * d, kt, t, d, n, s.scale, scores);
        float max = -INFINITY;
        for (int jj = 0; jj < n; jj++) max = MAX(max, scores[jj]);
        float sum = 0;
        for (int jj = 0; jj < n; jj++) {
          scores[jj] = expf(scores[jj] - max);
          sum += scores[jj];
        }
        float *o = a->a[5] + ((size_t)(b * t + i) * s.h + h) * d;
        for (int k = 0; k < d; k++) o[k] = 0;
        const float inv = 1.0f / sum;
        for (int jj = 0; jj < n; jj++) axpy(scores[jj] * inv, vh + (size_t)jj * d, o, d);
        a->a[6][((size_t)b * s.h + h) * t + i] = max + logf(sum);
      }
    }
  }
  free(scratch);
}

/* Arrays: dout, q, k, v, cos, sin, out, lse, dq, dk, dv. */
INLINE void attention_back_body(const job_t *j) {
  const args_t *a = j->ctx;
  const att_shape_t s = att_shape(a);
  const int group = s.h / s.hkv, t = s.t, d = s.d;
  float *scratch = malloc(sizeof(float) * att_scratch(&s));
  if (scratch == NULL) {
    *a->failed = 1;
    return;
  }
  float *qh = scratch, *kh = qh + (size_t)t * d, *kt = kh + (size_t)t * d, *vt = kt + (size_t)t * d;
  float *dq = vt + (size_t)t * d, *dk = dq + (size_t)t * d, *dv = dk + (size_t)t * d;
  float *p = dv + (size_t)t * d, *dp = p + t;
  const float *cs = a->a[4], *sn = a->a[5];
  const size_t kv_stride = (size_t)s.hkv * d, q_stride = (size_t)s.h * d;
  for (int job = j->r0; job < j->r1; job++) {
    const int b = job / s.hkv, g = job % s.hkv;
    load_head(a->a[2] + (size_t)b * t * kv_stride + (size_t)g * d, kv_stride, t, d, cs, sn, kh);
    transpose_head(kh, t, d, kt);
    load_head(a->a[3] + (size_t)b * t * kv_stride + (size_t)g * d, kv_stride, t, d, NULL, NULL, dq);
    transpose_head(dq, t, d, vt);
    memset(dk, 0, sizeof(float) * t * d);
    memset(dv, 0, sizeof(float) * t * d);
    for (int hh = 0; hh < group; hh++) {
      const int h = g * group + hh;
      load_head(a->a[1] + (size_t)b * t * q_stride + (size_t)h * d, q_stride, t, d, cs, sn, qh);
      for (int i = 0; i < t; i++) {
        const int n = i + 1;
        const size_t row = ((size_t)(b * t + i) * s.h + h) * d;
        const float *dout = a->a[0] + row, *out = a->a[6] + row;
        const float lse = a->a[7][((size_t)b * s.h + h) * t + i];
        float delta = 0;
        for (int k = 0; k < d; k++) delta += dout[k] * out[k];
        score_row(qh + (size_t)i * d, kt, t, d, n, s.scale, p);
        for (int jj = 0; jj < n; jj++) p[jj] = expf(p[jj] - lse);
        score_row(dout, vt, t, d, n, 1.0f, dp);
        float *dqi = dq + (size_t)i * d;
        for (int k = 0; k < d; k++) dqi[k] = 0;
        for (int jj = 0; jj < n; jj++) {
          axpy(p[jj], dout, dv + (size_t)jj * d, d);
          const float ds = p[jj] * (dp[jj] - delta) * s.scale;
          axpy(ds, kh + (size_t)jj * d, dqi, d);
          axpy(ds, qh + (size_t)i * d, dk + (size_t)jj * d, d);
        }
      }
      store_head(dq, t, d, cs, sn, a->a[8] + (size_t)b * t * q_stride + (size_t)h * d, q_stride);
    }
    store_head(dk, t, d, cs, sn, a->a[9] + (size_t)b * t * kv_stride + (size_t)g * d, kv_stride);
    store_head(dv, t, d, NULL, NULL, a->a[10] + (size_t)b * t * kv_stride + (size_t)g * d, kv_stride);
  }
  free(scratch);
}

/* ------------------------------------------------------------------ ISA variants */

#define FOR_EACH_KERNEL(X) \
  X(fake_quant_rows)       \
  X(fake_quant_ternary)    \
  X(rms_norm)              \
  X(rms_norm_dx)           \
  X(rms_norm_dg)           \
  X(swiglu)                \
  X(swiglu_back)           \
  X(attention)             \
  X(attention_back)

#define PLAIN(name) static void name##_plain(const job_t *j) { name##_body(j); }
FOR_EACH_KERNEL(PLAIN)
#ifdef BITNET_X86
#define AVX2(name) __attribute__((target("avx2"))) static void name##_avx2(const job_t *j) { name##_body(j); }
#define AVX512(name) __attribute__((target("avx512f,avx512bw,avx512vl,avx2"))) static void name##_avx512(const job_t *j) { name##_body(j); }
FOR_EACH_KERNEL(AVX2)
FOR_EACH_KERNEL(AVX512)
#endif

typedef struct {
#define FIELD(name) kernel_fn name;
  FOR_EACH_KERNEL(FIELD)
} train_kernels_t;

#define ENTRY(suffix) {\
  fake_quant_rows_##suffix, fake_quant_ternary_##suffix, rms_norm_##suffix, rms_norm_dx_##suffix, rms_norm_dg_##suffix, \
  swiglu_##suffix, swiglu_back_##suffix, attention_##suffix, attention_back_##suffix}

static train_kernels_t train_kernels = ENTRY(plain);
static const char *train_name = "scalar";

void choose_train(int avx512, int avx2) {
#ifdef BITNET_X86
  if (avx512) {
    const train_kernels_t k = ENTRY(avx512);
    train_kernels = k;
    train_name = "avx512";
    return;
  }
  if (avx2) {
    const train_kernels_t k = ENTRY(avx2);
    train_kernels = k;
    train_name = "avx2";
    return;
  }
#endif
  (void)avx512;
  (void)avx2;
}

const char *train_path(void) { return train_name; }

/* ------------------------------------------------------------------ entry */

static void run(kernel_fn fn, const args_t *a, int rows, int threads) {
  job_t job = {0};
  job.fn = fn;
  job.rows = rows;
  job.r1 = rows;
  job.ctx = a;
  job.align = 1;
  run_jobs(&job, threads);
}

static double absmean(const float *w, size_t n) {
  double lane[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) lane[l] += fabs((double)w[i + l]);
  double s = 0;
  for (int l = 0; l < LANES; l++) s += lane[l];
  for (; i < n; i++) s += fabs((double)w[i]);
  return s / (double)n;
}

/* The arrays and dims each op takes (train_run checks the lengths). */
static const struct {
  int arrays, dims, params;
} OPS[] = {
    [TRAIN_FAKE_QUANT_ROWS] = {2, 2, 3}, [TRAIN_FAKE_QUANT_TERNARY] = {2, 2, 1}, [TRAIN_RMS_NORM] = {4, 2, 1}, [TRAIN_RMS_NORM_BACK] = {6, 2, 0},
    [TRAIN_SWIGLU] = {3, 1, 0},          [TRAIN_SWIGLU_BACK] = {5, 1, 0},        [TRAIN_ATTENTION] = {7, 5, 0}, [TRAIN_ATTENTION_BACK] = {11, 5, 0},
};

static int lengths_match(int op, const size_t *len, const int *d) {
  const size_t rc = (size_t)d[0] * (op == TRAIN_SWIGLU || op == TRAIN_SWIGLU_BACK ? 1 : d[1]);
  switch (op) {
    case TRAIN_FAKE_QUANT_ROWS:
    case TRAIN_FAKE_QUANT_TERNARY:
      return len[0] == rc && len[1] == rc;
    case TRAIN_RMS_NORM:
      return len[0] == rc && len[1] == (size_t)d[1] && len[2] == rc && len[3] == (size_t)d[0];
    case TRAIN_RMS_NORM_BACK:
      return len[0] == rc && len[1] == rc && len[2] == (size_t)d[1] && len[3] == (size_t)d[0] && len[4] == rc && len[5] == (size_t)d[1];
    case TRAIN_SWIGLU:
    case TRAIN_SWIGLU_BACK:
      for (int i = 0; i < OPS[op].arrays; i++)
        if (len[i] != rc) return 0;
      return 1;
    default: {
      if (d[2] % d[3] != 0 || d[4] % 2 != 0) return 0;
      const size_t nq = (size_t)d[0] * d[1] * d[2] * d[4], nkv = (size_t)d[0] * d[1] * d[3] * d[4], rope = (size_t)d[1] * d[4] / 2,
                   nlse = (size_t)d[0] * d[2] * d[1];
      const size_t fwd[] = {nq, nkv, nkv, rope, rope, nq, nlse};
      const size_t back[] = {nq, nq, nkv, nkv, rope, rope, nq, nlse, nq, nkv, nkv};
      const size_t *want = op == TRAIN_ATTENTION ? fwd : back;
      for (int i = 0; i < OPS[op].arrays; i++)
        if (len[i] != want[i]) return 0;
      return 1;
    }
  }
}

const char *train_run(int op, float *const *arrays, const size_t *len, int narrays, const int *dims, int ndims, const double *params, int nparams,
                      int threads) {
  if (op < 0 || op >= (int)(sizeof OPS / sizeof OPS[0])) return "train: unknown op";
  if (narrays != OPS[op].arrays || ndims != OPS[op].dims || nparams != OPS[op].params) return "train: wrong number of arrays, dims or params";
  for (int i = 0; i < ndims; i++)
    if (dims[i] <= 0) return "train: dims must be positive";
  if (!lengths_match(op, len, dims)) return "train: array lengths do not match the dims";
  int failed = 0;
  args_t a = {arrays, dims, {0, 0, 0, 0}, &failed};
  for (int i = 0; i < nparams; i++) a.p[i] = (float)params[i];
  switch (op) {
    case TRAIN_FAKE_QUANT_ROWS:
      run(train_kernels.fake_quant_rows, &a, dims[0], threads);
      break;
    case TRAIN_FAKE_QUANT_TERNARY:
      a.p[0] = fmaxf((float)absmean(arrays[0], len[0]), (float)params[0]);
      run(train_kernels.fake_quant_ternary, &a, dims[0], threads);
      break;
    case TRAIN_RMS_NORM:
      run(train_kernels.rms_norm, &a, dims[0], threads);
      break;
    case TRAIN_RMS_NORM_BACK:
      run(train_kernels.rms_norm_dx, &a, dims[0], threads);
      run(train_kernels.rms_norm_dg, &a, (dims[1] + 63) / 64, threads);
      break;
    case TRAIN_SWIGLU:
      run(train_kernels.swiglu, &a, (dims[0] + 1023) / 1024, threads);
      break;
    case TRAIN_SWIGLU_BACK:
      run(train_kernels.swiglu_back, &a, (dims[0] + 1023) / 1024, threads);
      break;
    case TRAIN_ATTENTION:
      run(train_kernels.attention, &a, dims[0] * dims[3], threads);
      break;
    default:
      run(train_kernels.attention_back, &a, dims[0] * dims[3], threads);
  }
  return failed ? "train: out of memory" : NULL;
}
