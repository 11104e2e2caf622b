// ARM64 ternary x int8 GEMM kernels on the x86 paths' 16-row interleaved layout (repack_vertical):
// per 16 rows and 16 columns, 64 bytes in which byte 4i+j holds, in its 2-bit field f, the code of
// row i at column 4f+j. A 16-byte vector of it is 4 rows x 4 columns per field, so lanes are
// output rows and no horizontal sums are needed. Three paths, chosen at run time from the CPU's
// hardware capabilities: SDOT (dotprod), SMMLA (i8mm, batches of two rows and more; its GEMV is
// the SDOT one) and plain NEON (vmlal into int16, widened every 16 chunks).
#include <string.h>
#include "native.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#if defined(__clang__)
#define DOTPROD __attribute__((target("dotprod")))
#define I8MM __attribute__((target("dotprod,i8mm")))
#else
#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#endif
#define INLINE static inline __attribute__((always_inline))
#define RG_BYTES(cols) ((size_t)(cols) * 4)

/* Writes 16 rows (fewer at the end) of one batch row and group: lanes of y[v] are rows 4v..4v+3. */
INLINE void store_rows(const job_t *j, int rg, int b, int g, const int32x4_t y[4]) {
  const int r0 = rg * 16;
  const int rows = j->rows - r0 < 16 ? j->rows - r0 : 16;
  const int32x4_t xs = vdupq_n_s32(j->xsum[b * j->groups + g]);
  int32_t s[16];
  for (int v = 0; v < 4; v++) vst1q_s32(s + 4 * v, vsubq_s32(y[v], xs));
  int32_t *o = j->out + ((size_t)b * j->rows + r0) * j->groups + g;
  for (int i = 0; i < rows; i++) o[(size_t)i * j->groups] = s[i];
}

/* The four fields of a code vector as codes 0..2. */
INLINE void decode(uint8x16_t c, int8x16_t d[4]) {
  const uint8x16_t three = vdupq_n_u8(3);
  d[0] = vreinterpretq_s8_u8(vandq_u8(c, three));
  d[1] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(c, 2), three));
  d[2] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(c, 4), three));
  d[3] = vreinterpretq_s8_u8(vshrq_n_u8(c, 6));
}

/* ------------------------------------------------------------------ SDOT */
/* Field f of a vector times activations 16kc+4f..+3 of a batch row: one vdotq_laneq_s32 (lane f of
   the 16 activations of the chunk). NRG row groups x NT batch rows: 4 * NRG * NT accumulators. */
DOTPROD INLINE void vtile_dot(const job_t *j, int rg0, int b0, const int NRG, const int NT) {
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg0 * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b0 * cols;
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    int32x4_t acc[2][4][4];
    for (int a = 0; a < NRG; a++)
      for (int v = 0; v < 4; v++)
        for (int t = 0; t < NT; t++) acc[a][v][t] = vdupq_n_s32(0);
    for (int e = 0; e < chunks_per_group; e++, kc++) {
      int8x16_t xv[4];
      for (int t = 0; t < NT; t++) xv[t] = vld1q_s8(x + t * cols + 16 * (size_t)kc);
      for (int a = 0; a < NRG; a++)
        for (int v = 0; v < 4; v++) {
          int8x16_t d[4];
          decode(vld1q_u8(w + a * RG_BYTES(cols) + (size_t)kc * 64 + 16 * v), d);
          for (int t = 0; t < NT; t++) {
            acc[a][v][t] = vdotq_laneq_s32(acc[a][v][t], d[0], xv[t], 0);
            acc[a][v][t] = vdotq_laneq_s32(acc[a][v][t], d[1], xv[t], 1);
            acc[a][v][t] = vdotq_laneq_s32(acc[a][v][t], d[2], xv[t], 2);
            acc[a][v][t] = vdotq_laneq_s32(acc[a][v][t], d[3], xv[t], 3);
          }
        }
    }
    for (int a = 0; a < NRG; a++)
      for (int t = 0; t < NT; t++) {
        const int32x4_t y[4] = {acc[a][0][t], acc[a][1][t], acc[a][2][t], acc[a][3][t]};
        store_rows(j, rg0 + a, b0 + t, g, y);
      }
  }
}

DOTPROD __attribute__((noinline)) static void gemv_dot(const job_t *j) {
  const int rg_end = (j->r1 + 15) / 16;
  int rg = j->r0 / 16;
  for (; rg + 2 <= rg_end; rg += 2) vtile_dot(j, rg, 0, 2, 1);
  if (rg < rg_end) vtile_dot(j, rg, 0, 1, 1);
}

/* Batches: each row group against every batch row before the next, so the weights stream once. */
DOTPROD static void gemm_dot(const job_t *j) {
  if (j->batch == 1) {
    gemv_dot(j);
    return;
  }
  const int rg_end = (j->r1 + 15) / 16;
  for (int rg = j->r0 / 16; rg < rg_end; rg++) {
    int b0 = 0;
    for (; b0 + 4 <= j->batch; b0 += 4) vtile_dot(j, rg, b0, 1, 4);
    for (; b0 + 2 <= j->batch; b0 += 2) vtile_dot(j, rg, b0, 1, 2);
    if (b0 < j->batch) vtile_dot(j, rg, b0, 1, 1);
  }
}

/* ------------------------------------------------------------------ SMMLA */
/* vmmlaq_s32 multiplies a 2x8 matrix by a 2x8 one (transposed): zipping fields f and f+1 of a
   vector by 32-bit lanes gives rows (4v, 4v+1) and (4v+2, 4v+3) x columns 4f..4f+7, and the two
   batch rows' activations at those columns are the low (f = 0) or high (f = 2) halves of their
   chunk, zipped by 64-bit lanes. Accumulator lanes: [row 0 x batch t, row 0 x t+1, row 1 x t, row
   1 x t+1]; unzipping two of them gives the 4 rows of each batch row. NP pairs of batch rows. */
I8MM INLINE void vtile_mmla(const job_t *j, int rg, int b0, const int NP) {
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b0 * cols;
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    int32x4_t acc[2][4][2]; /* [pair][vector][rows 01 | rows 23] */
    for (int p = 0; p < NP; p++)
      for (int v = 0; v < 4; v++) acc[p][v][0] = acc[p][v][1] = vdupq_n_s32(0);
    for (int e = 0; e < chunks_per_group; e++, kc++) {
      int8x16_t xb[2][2]; /* [pair][columns 0..7 | 8..15] */
      for (int p = 0; p < NP; p++) {
        const int64x2_t x0 = vreinterpretq_s64_s8(vld1q_s8(x + 2 * p * cols + 16 * (size_t)kc));
        const int64x2_t x1 = vreinterpretq_s64_s8(vld1q_s8(x + (2 * p + 1) * cols + 16 * (size_t)kc));
        xb[p][0] = vreinterpretq_s8_s64(vzip1q_s64(x0, x1));
        xb[p][1] = vreinterpretq_s8_s64(vzip2q_s64(x0, x1));
      }
      for (int v = 0; v < 4; v++) {
        int8x16_t d[4];
        decode(vld1q_u8(w + (size_t)kc * 64 + 16 * v), d);
        for (int h = 0; h < 2; h++) {
          const int32x4_t f0 = vreinterpretq_s32_s8(d[2 * h]), f1 = vreinterpretq_s32_s8(d[2 * h + 1]);
          const int8x16_t m01 = vreinterpretq_s8_s32(vzip1q_s32(f0, f1)), m23 = vreinterpretq_s8_s32(vzip2q_s32(f0, f1));
          for (int p = 0; p < NP; p++) {
            acc[p][v][0] = vmmlaq_s32(acc[p][v][0], m01, xb[p][h]);
            acc[p][v][1] = vmmlaq_s32(acc[p][v][1], m23, xb[p][h]);
          }
        }
      }
    }
    for (int p = 0; p < NP; p++) {
      int32x4_t y0[4], y1[4];
      for (int v = 0; v < 4; v++) {
        y0[v] = vuzp1q_s32(acc[p][v][0], acc[p][v][1]);
        y1[v] = vuzp2q_s32(acc[p][v][0], acc[p][v][1]);
      }
      store_rows(j, rg, b0 + 2 * p, g, y0);
      store_rows(j, rg, b0 + 2 * p + 1, g, y1);
    }
  }
}

I8MM static void gemm_mmla(const job_t *j) {
  if (j->batch == 1) {
    gemv_dot(j);
    return;
  }
  const int rg_end = (j->r1 + 15) / 16;
  for (int rg = j->r0 / 16; rg < rg_end; rg++) {
    int b0 = 0;
    for (; b0 + 4 <= j->batch; b0 += 4) vtile_mmla(j, rg, b0, 2);
    for (; b0 + 2 <= j->batch; b0 += 2) vtile_mmla(j, rg, b0, 1);
    if (b0 < j->batch) vtile_dot(j, rg, b0, 1, 1);
  }
}

/* ------------------------------------------------------------------ plain NEON */
/* vmlal_s8 of a field (4 rows x 4 columns) by its 4 activations repeated: int16 lanes [row, column
   j], 4 fields a chunk into the same lanes (each in -1024..1016 a chunk: 32 chunks reach -32768 at
   worst, which int16 holds), then vpadalq_s16 widens pairs of columns and a final vpaddq_s32 sums
   each row. */
#define NEON_FLUSH_CHUNKS 32

INLINE void vtile_neon(const job_t *j, int rg, int b) {
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b * cols;
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    int32x4_t acc32[4][2];
    for (int v = 0; v < 4; v++) acc32[v][0] = acc32[v][1] = vdupq_n_s32(0);
    for (int done = 0; done < chunks_per_group;) {
      const int n = chunks_per_group - done < NEON_FLUSH_CHUNKS ? chunks_per_group - done : NEON_FLUSH_CHUNKS;
      int16x8_t acc16[4][2];
      for (int v = 0; v < 4; v++) acc16[v][0] = acc16[v][1] = vdupq_n_s16(0);
      for (int e = 0; e < n; e++, kc++) {
        const int32x4_t xw = vreinterpretq_s32_s8(vld1q_s8(x + 16 * (size_t)kc));
        const int8x16_t xf[4] = {vreinterpretq_s8_s32(vdupq_laneq_s32(xw, 0)), vreinterpretq_s8_s32(vdupq_laneq_s32(xw, 1)),
                                 vreinterpretq_s8_s32(vdupq_laneq_s32(xw, 2)), vreinterpretq_s8_s32(vdupq_laneq_s32(xw, 3))};
        for (int v = 0; v < 4; v++) {
          int8x16_t d[4];
          decode(vld1q_u8(w + (size_t)kc * 64 + 16 * v), d);
          for (int f = 0; f < 4; f++) {
            acc16[v][0] = vmlal_s8(acc16[v][0], vget_low_s8(d[f]), vget_low_s8(xf[f]));
            acc16[v][1] = vmlal_high_s8(acc16[v][1], d[f], xf[f]);
          }
        }
      }
      for (int v = 0; v < 4; v++) {
        acc32[v][0] = vpadalq_s16(acc32[v][0], acc16[v][0]);
        acc32[v][1] = vpadalq_s16(acc32[v][1], acc16[v][1]);
      }
      done += n;
    }
    int32x4_t y[4];
    for (int v = 0; v < 4; v++) y[v] = vpaddq_s32(acc32[v][0], acc32[v][1]);
    store_rows(j, rg, b, g, y);
  }
}

static void gemm_neon(const job_t *j) {
  const int rg_end = (j->r1 + 15) / 16;
  for (int rg = j->r0 / 16; rg < rg_end; rg++)
    for (int b = 0; b < j->batch; b++) vtile_neon(j, rg, b);
}

/* ------------------------------------------------------------------ choice */

static void cpu_features(int *dotprod, int *i8mm) {
#if defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  *dotprod = (hw & (1UL << 20)) != 0; /* HWCAP_ASIMDDP */
  *i8mm = (hw2 & (1UL << 13)) != 0;   /* HWCAP2_I8MM */
#elif defined(__APPLE__)
  int v = 0;
  size_t n = sizeof v;
  *dotprod = sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &n, NULL, 0) == 0 && v != 0;
  v = 0;
  *i8mm = sysctlbyname("hw.optional.arm.FEAT_I8MM", &v, &n, NULL, 0) == 0 && v != 0;
#else
  *dotprod = *i8mm = 0;
#endif
}

/* BITNET_NATIVE_ISA forces a lower path: dotprod, neon or scalar. */
void choose_kernels_arm(const char *force) {
  int dotprod, i8mm;
  cpu_features(&dotprod, &i8mm);
  if (force != NULL && strcmp(force, "scalar") == 0) return;
  if (force != NULL && strcmp(force, "neon") == 0) dotprod = i8mm = 0;
  if (force != NULL && strcmp(force, "dotprod") == 0) i8mm = 0;
  kernels.vertical = 1;
  if (i8mm && dotprod) { kernels.gemm = gemm_mmla; kernels.name = "i8mm"; }
  else if (dotprod) { kernels.gemm = gemm_dot; kernels.name = "dotprod"; }
  else { kernels.gemm = gemm_neon; kernels.name = "neon"; }
}
#endif
