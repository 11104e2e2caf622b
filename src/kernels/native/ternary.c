// Native ternary x int8 GEMM kernels (layout and problem: src/kernels/types.ts). One binary for
// every x86-64: the vector paths are compiled with target attributes and chosen at run
// time by CPU feature detection (AVX-512 VNNI, AVX-VNNI, AVX2; ARM64's NEON paths: ternary-arm.c); a portable C loop covers everything else.
#include <stdlib.h>
#include <string.h>
#include "native.h"

#define RG_BYTES(cols) ((size_t)(cols) * 4) /* one group of 16 rows: 16 * cols / 4 bytes */

size_t vertical_size(int rows, int cols) { return (size_t)((rows + 15) / 16) * RG_BYTES(cols); }

void repack_vertical(const uint8_t *codes, int rows, int cols, uint8_t *dst) {
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

/* Which VNNI GEMV runs: the stream when the weights can't stay in a core's L3 between uses (a
   decoder's every matrix comes from DRAM), else the 8-row-group tile, which runs ~15 % faster on
   weights already in cache (a small model, a kernel bench's loop) and 10-30 % slower from DRAM.
   The working set is the packed weights prepared for the kernels and not yet collected
   (src/kernels/native/tier.ts keeps the count); 64 MiB is above every L3 slice a core reads
   from (32 MiB on Zen 4, 96 MiB with V-Cache, which rarely fills with weights alone). */
#define STREAM_FROM_BYTES (64LL << 20)
static long long weight_bytes = 0;
static int gemv_choice = 0; /* 0 by working set, 1 stream, 2 tile */

void ternary_weight_bytes(long long delta) { __atomic_add_fetch(&weight_bytes, delta, __ATOMIC_RELAXED); }

void ternary_gemv_choice(int choice) { gemv_choice = choice; }

int ternary_gemv_streams(void) { return gemv_choice == 1 || (gemv_choice == 0 && __atomic_load_n(&weight_bytes, __ATOMIC_RELAXED) > STREAM_FROM_BYTES); }

#ifdef BITNET_X86
/* ------------------------------------------------------------------ AVX2, row-interleaved */
/* The VNNI path's layout (`prepare` repacks it) on 256-bit vectors: one 32-byte half of a 64-byte
   chunk holds 8 rows x 16 columns, 4 columns in each 2-bit field. One shift by 4 and four ANDs
   decode the fields: 0 and 2 as codes (0..2), 1 and 3 in place, as 4 x code. vpmaddubsw by 4
   broadcast activations gives 8 rows x 2 int16 pair sums, added up in int16 ("lo" for fields 0
   and 2, at most 2 * 512 a chunk; "hi" for 1 and 3, at most 2 * 2048, exactly 4x the true sum):
   7 chunks fit int16, then vpmaddwd widens them, and hi / 4 is exact. About 3.5 instructions per
   32 multiply-adds for one batch row, fewer for two (the decode is shared), and no horizontal sums
   (lanes are output rows). Codes are 0..2 (ternary); a code 3 could overflow hi. */

#define AVX2 __attribute__((target("avx2")))
/* Each row group's stream is prefetched 16 chunks (1 KiB) ahead: decoding reads the weights from
   memory once per token, and without it a 1-thread GEMV ran at 8-9 GB/s (AVX2) and 14-17 GB/s
   (VNNI) from DRAM on a Zen 4; with it, 11-12 and 20-21. */
#define PREFETCH_CHUNKS 16
#define AVX2_FLUSH_CHUNKS 7

AVX2 static inline __attribute__((always_inline)) void vtile_avx2(const job_t *j, int rg0, int b0, const int NRG, const int NT) {
  const __m256i three = _mm256_set1_epi8(3), twelve = _mm256_set1_epi8(12), ones16 = _mm256_set1_epi16(1);
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg0 * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b0 * cols;
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    /* [lo: fields 0 and 2 | hi: fields 1 and 3, decoded in place as 4 x code] */
    __m256i acc32[2][2][2][2];
    for (int a = 0; a < NRG; a++)
      for (int h = 0; h < 2; h++)
        for (int s = 0; s < 2; s++)
          for (int t = 0; t < NT; t++) acc32[s][a][h][t] = _mm256_setzero_si256();
    for (int done = 0; done < chunks_per_group;) {
      const int n = chunks_per_group - done < AVX2_FLUSH_CHUNKS ? chunks_per_group - done : AVX2_FLUSH_CHUNKS;
      __m256i lo[2][2][2], hi[2][2][2];
      for (int a = 0; a < NRG; a++)
        for (int h = 0; h < 2; h++)
          for (int t = 0; t < NT; t++) lo[a][h][t] = hi[a][h][t] = _mm256_setzero_si256();
      for (int e = 0; e < n; e++, kc++) {
        for (int a = 0; a < NRG; a++) _mm_prefetch((const char *)(w + a * RG_BYTES(cols) + (size_t)(kc + PREFETCH_CHUNKS) * 64), _MM_HINT_T0);
        __m256i xv[4][2];
        for (int f = 0; f < 4; f++)
          for (int t = 0; t < NT; t++) {
            int32_t v;
            memcpy(&v, x + t * cols + 16 * kc + 4 * f, 4);
            xv[f][t] = _mm256_set1_epi32(v);
          }
        for (int a = 0; a < NRG; a++)
          for (int h = 0; h < 2; h++) {
            const __m256i c = _mm256_loadu_si256((const __m256i *)(w + a * RG_BYTES(cols) + (size_t)kc * 64 + 32 * h));
            const __m256i c4 = _mm256_srli_epi16(c, 4);
            const __m256i d0 = _mm256_and_si256(c, three), d1 = _mm256_and_si256(c, twelve);
            const __m256i d2 = _mm256_and_si256(c4, three), d3 = _mm256_and_si256(c4, twelve);
            for (int t = 0; t < NT; t++) {
              lo[a][h][t] = _mm256_add_epi16(lo[a][h][t], _mm256_add_epi16(_mm256_maddubs_epi16(d0, xv[0][t]), _mm256_maddubs_epi16(d2, xv[2][t])));
              hi[a][h][t] = _mm256_add_epi16(hi[a][h][t], _mm256_add_epi16(_mm256_maddubs_epi16(d1, xv[1][t]), _mm256_maddubs_epi16(d3, xv[3][t])));
            }
          }
      }
      for (int a = 0; a < NRG; a++)
        for (int h = 0; h < 2; h++)
          for (int t = 0; t < NT; t++) {
            acc32[0][a][h][t] = _mm256_add_epi32(acc32[0][a][h][t], _mm256_madd_epi16(lo[a][h][t], ones16));
            acc32[1][a][h][t] = _mm256_add_epi32(acc32[1][a][h][t], _mm256_madd_epi16(hi[a][h][t], ones16));
          }
      done += n;
    }
    for (int a = 0; a < NRG; a++) {
      const int r0 = (rg0 + a) * 16;
      const int rows = j->rows - r0 < 16 ? j->rows - r0 : 16;
      for (int t = 0; t < NT; t++) {
        const __m256i xs = _mm256_set1_epi32(j->xsum[(b0 + t) * j->groups + g]);
        int32_t s[16];
        for (int h = 0; h < 2; h++) {
          const __m256i y = _mm256_add_epi32(acc32[0][a][h][t], _mm256_srai_epi32(acc32[1][a][h][t], 2));
          _mm256_storeu_si256((__m256i *)(s + 8 * h), _mm256_sub_epi32(y, xs));
        }
        int32_t *o = j->out + ((size_t)(b0 + t) * j->rows + r0) * j->groups + g;
        for (int i = 0; i < rows; i++) o[(size_t)i * j->groups] = s[i];
      }
    }
  }
}

/* Four batch rows on one row group: fields decoded by shift and AND into plain codes (the decode
   is shared four ways), one int16 accumulator per half and batch row (8 in all), widened every
   15 chunks (a chunk adds 4 pair sums of at most 512). */
AVX2 static inline __attribute__((always_inline)) void vtile_avx2_4(const job_t *j, int rg, int b0) {
  const __m256i three = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b0 * cols;
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    __m256i acc32[2][4];
    for (int h = 0; h < 2; h++)
      for (int t = 0; t < 4; t++) acc32[h][t] = _mm256_setzero_si256();
    for (int done = 0; done < chunks_per_group;) {
      const int n = chunks_per_group - done < 15 ? chunks_per_group - done : 15;
      __m256i acc16[2][4];
      for (int h = 0; h < 2; h++)
        for (int t = 0; t < 4; t++) acc16[h][t] = _mm256_setzero_si256();
      for (int e = 0; e < n; e++, kc++) {
        const __m256i c0 = _mm256_loadu_si256((const __m256i *)(w + (size_t)kc * 64));
        const __m256i c1 = _mm256_loadu_si256((const __m256i *)(w + (size_t)kc * 64 + 32));
        for (int f = 0; f < 4; f++) {
          const __m256i d0 = _mm256_and_si256(f == 0 ? c0 : _mm256_srli_epi16(c0, 2 * f), three);
          const __m256i d1 = _mm256_and_si256(f == 0 ? c1 : _mm256_srli_epi16(c1, 2 * f), three);
          for (int t = 0; t < 4; t++) {
            int32_t v;
            memcpy(&v, x + t * cols + 16 * kc + 4 * f, 4);
            const __m256i xv = _mm256_set1_epi32(v);
            acc16[0][t] = _mm256_add_epi16(acc16[0][t], _mm256_maddubs_epi16(d0, xv));
            acc16[1][t] = _mm256_add_epi16(acc16[1][t], _mm256_maddubs_epi16(d1, xv));
          }
        }
      }
      for (int h = 0; h < 2; h++)
        for (int t = 0; t < 4; t++) acc32[h][t] = _mm256_add_epi32(acc32[h][t], _mm256_madd_epi16(acc16[h][t], ones16));
      done += n;
    }
    const int r0 = rg * 16;
    const int rows = j->rows - r0 < 16 ? j->rows - r0 : 16;
    for (int t = 0; t < 4; t++) {
      const __m256i xs = _mm256_set1_epi32(j->xsum[(b0 + t) * j->groups + g]);
      int32_t s[16];
      _mm256_storeu_si256((__m256i *)s, _mm256_sub_epi32(acc32[0][t], xs));
      _mm256_storeu_si256((__m256i *)(s + 8), _mm256_sub_epi32(acc32[1][t], xs));
      int32_t *o = j->out + ((size_t)(b0 + t) * j->rows + r0) * j->groups + g;
      for (int i = 0; i < rows; i++) o[(size_t)i * j->groups] = s[i];
    }
  }
}

/* GEMV one row group at a time, as the VNNI path's stream: one sequential stream of codes, 4 int16
   and 4 int32 accumulators, activations broadcast straight from memory (a 16-byte load split into
   four broadcasts cost a shuffle each and ran 7 % slower than the 2-row-group tile). Against that
   tile (which spilled: it needs 23 ymm registers), 1 thread on a Zen 4, AVX2 forced: 12-17 % faster
   on L3-resident 2B4T shapes, 18-21 GB/s instead of 11-15 from DRAM. */
AVX2 __attribute__((noinline)) static void gemv_avx2_stream(const job_t *j) {
  const __m256i three = _mm256_set1_epi8(3), twelve = _mm256_set1_epi8(12), ones16 = _mm256_set1_epi16(1);
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const int rg_end = (j->r1 + 15) / 16;
  for (int rg = j->r0 / 16; rg < rg_end; rg++) {
    const uint8_t *w = j->codes + (size_t)rg * RG_BYTES(cols);
    int kc = 0;
    for (int g = 0; g < j->groups; g++) {
      __m256i lo32[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, hi32[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int done = 0; done < chunks_per_group;) {
        const int n = chunks_per_group - done < AVX2_FLUSH_CHUNKS ? chunks_per_group - done : AVX2_FLUSH_CHUNKS;
        __m256i lo[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, hi[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int e = 0; e < n; e++, kc++) {
          const int8_t *xk = j->x + 16 * kc;
          int32_t v0, v1, v2, v3;
          memcpy(&v0, xk, 4);
          memcpy(&v1, xk + 4, 4);
          memcpy(&v2, xk + 8, 4);
          memcpy(&v3, xk + 12, 4);
          const __m256i x0 = _mm256_set1_epi32(v0), x1 = _mm256_set1_epi32(v1), x2 = _mm256_set1_epi32(v2), x3 = _mm256_set1_epi32(v3);
          for (int h = 0; h < 2; h++) {
            const __m256i c = _mm256_loadu_si256((const __m256i *)(w + (size_t)kc * 64 + 32 * h));
            const __m256i c4 = _mm256_srli_epi16(c, 4);
            lo[h] = _mm256_add_epi16(lo[h], _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(c, three), x0), _mm256_maddubs_epi16(_mm256_and_si256(c4, three), x2)));
            hi[h] = _mm256_add_epi16(hi[h], _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(c, twelve), x1), _mm256_maddubs_epi16(_mm256_and_si256(c4, twelve), x3)));
          }
        }
        for (int h = 0; h < 2; h++) {
          lo32[h] = _mm256_add_epi32(lo32[h], _mm256_madd_epi16(lo[h], ones16));
          hi32[h] = _mm256_add_epi32(hi32[h], _mm256_madd_epi16(hi[h], ones16));
        }
        done += n;
      }
      const int r0 = rg * 16;
      const int rows = j->rows - r0 < 16 ? j->rows - r0 : 16;
      const __m256i xs = _mm256_set1_epi32(j->xsum[g]);
      int32_t s[16];
      for (int h = 0; h < 2; h++) _mm256_storeu_si256((__m256i *)(s + 8 * h), _mm256_sub_epi32(_mm256_add_epi32(lo32[h], _mm256_srai_epi32(hi32[h], 2)), xs));
      int32_t *o = j->out + (size_t)r0 * j->groups + g;
      for (int i = 0; i < rows; i++) o[(size_t)i * j->groups] = s[i];
    }
  }
}

#define VT2(A, T) vtile_avx2(j, rg, b0, A, T)

/* One row group (16 rows, 16 * cols / 4 bytes: in L1 or L2) against every 4 or 2 batch rows
   before the next, so the weights stream from memory once. */
AVX2 static void gemm_avx2_vertical(const job_t *j) {
  if (j->batch == 1) {
    gemv_avx2_stream(j);
    return;
  }
  const int rg_end = (j->r1 + 15) / 16;
  int rg = j->r0 / 16;
  for (; rg < rg_end; rg++) {
    int b0 = 0;
    for (; b0 + 4 <= j->batch; b0 += 4) vtile_avx2_4(j, rg, b0);
    for (; b0 + 2 <= j->batch; b0 += 2) VT2(1, 2);
    if (b0 < j->batch) VT2(1, 1);
  }
}

/* ------------------------------------------------------------------ AVX-VNNI (VEX), row-interleaved */
/* The AVX-512 VNNI tile on 256-bit vectors, for CPUs with vpdpbusd on ymm but no AVX-512 (Alder
   Lake and later): a 32-byte half of a chunk is 8 rows x 4 columns per field, one vpdpbusd per
   field, half and batch row. Fields decode as the AVX2 path's (1 and 3 in place, as 4 x code) into
   two accumulators (even, odd fields), so a 1-row tile has 8 independent sums in flight. */

#define AVXVNNI __attribute__((target("avx2,avxvnni")))

AVXVNNI static inline __attribute__((always_inline)) void vtile_avxvnni(const job_t *j, int rg0, int b0, const int NRG, const int NT) {
  const __m256i three = _mm256_set1_epi8(3), twelve = _mm256_set1_epi8(12);
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const uint8_t *w = j->codes + (size_t)rg0 * RG_BYTES(cols);
  const int8_t *x = j->x + (size_t)b0 * cols;
  int kc = 0;
  for (int g = 0; g < j->groups; g++) {
    __m256i acc[2][2][2][4]; /* [even | odd field][row group][half][batch row] */
    for (int p = 0; p < 2; p++)
      for (int a = 0; a < NRG; a++)
        for (int h = 0; h < 2; h++)
          for (int t = 0; t < NT; t++) acc[p][a][h][t] = _mm256_setzero_si256();
    for (int e = 0; e < chunks_per_group; e++, kc++) {
      __m256i xv[4][4];
      for (int f = 0; f < 4; f++)
        for (int t = 0; t < NT; t++) {
          int32_t v;
          memcpy(&v, x + t * cols + 16 * kc + 4 * f, 4);
          xv[f][t] = _mm256_set1_epi32(v);
        }
      for (int a = 0; a < NRG; a++)
        for (int h = 0; h < 2; h++) {
          const __m256i c = _mm256_loadu_si256((const __m256i *)(w + a * RG_BYTES(cols) + (size_t)kc * 64 + 32 * h));
          const __m256i c4 = _mm256_srli_epi16(c, 4);
          const __m256i d[4] = {_mm256_and_si256(c, three), _mm256_and_si256(c, twelve), _mm256_and_si256(c4, three), _mm256_and_si256(c4, twelve)};
          for (int f = 0; f < 4; f++)
            for (int t = 0; t < NT; t++) acc[f & 1][a][h][t] = _mm256_dpbusd_avx_epi32(acc[f & 1][a][h][t], d[f], xv[f][t]);
        }
    }
    for (int a = 0; a < NRG; a++) {
      const int r0 = (rg0 + a) * 16;
      const int rows = j->rows - r0 < 16 ? j->rows - r0 : 16;
      for (int t = 0; t < NT; t++) {
        const __m256i xs = _mm256_set1_epi32(j->xsum[(b0 + t) * j->groups + g]);
        int32_t s[16];
        for (int h = 0; h < 2; h++) _mm256_storeu_si256((__m256i *)(s + 8 * h), _mm256_sub_epi32(_mm256_add_epi32(acc[0][a][h][t], _mm256_srai_epi32(acc[1][a][h][t], 2)), xs));
        int32_t *o = j->out + ((size_t)(b0 + t) * j->rows + r0) * j->groups + g;
        for (int i = 0; i < rows; i++) o[(size_t)i * j->groups] = s[i];
      }
    }
  }
}

AVXVNNI __attribute__((noinline)) static void gemv_avxvnni(const job_t *j) {
  const int rg_end = (j->r1 + 15) / 16;
  int rg = j->r0 / 16;
  for (; rg + 2 <= rg_end; rg += 2) vtile_avxvnni(j, rg, 0, 2, 1);
  if (rg < rg_end) vtile_avxvnni(j, rg, 0, 1, 1);
}

/* Batches: each row group against every batch row before the next, so the weights stream once. */
AVXVNNI static void gemm_avxvnni(const job_t *j) {
  if (j->batch == 1) {
    gemv_avxvnni(j);
    return;
  }
  const int rg_end = (j->r1 + 15) / 16;
  for (int rg = j->r0 / 16; rg < rg_end; rg++) {
    int b0 = 0;
    for (; b0 + 2 <= j->batch; b0 += 2) vtile_avxvnni(j, rg, b0, 1, 2);
    if (b0 < j->batch) vtile_avxvnni(j, rg, b0, 1, 1);
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
      for (int a = 0; a < NRG; a++) _mm_prefetch((const char *)(w + a * RG_BYTES(cols) + (size_t)(kc + PREFETCH_CHUNKS) * 64), _MM_HINT_T0);
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

/* GEMV one row group at a time: the codes are read as one sequential stream, left to the hardware
   prefetcher, and each 2-bit field of two chunks has its own accumulator (no vpdpbusd waits on
   another). Decoding reads every matrix from DRAM: there a 1-thread GEMV (Zen 4) ran 10-30 % faster
   than the 8-row-group tile (8 streams, software prefetch), 20-32 GB/s; prefetching this one stream
   only slowed it. A matrix already in L3 (a kernel bench's loop) runs about 15 % slower than with
   the tile, which reads 8 streams at once. */
VNNI __attribute__((noinline)) static void gemv_vnni_stream(const job_t *j) {
  const __m512i three = _mm512_set1_epi8(3);
  const int chunks_per_group = j->gcols / 16;
  const size_t cols = (size_t)j->cols;
  const int rg_end = (j->r1 + 15) / 16;
  for (int rg = j->r0 / 16; rg < rg_end; rg++) {
    const uint8_t *w = j->codes + (size_t)rg * RG_BYTES(cols);
    int kc = 0;
    for (int g = 0; g < j->groups; g++) {
      __m512i acc[8];
      for (int f = 0; f < 8; f++) acc[f] = _mm512_setzero_si512();
      /* chunks_per_group is even: groups are multiples of 32 columns */
      for (int e = 0; e < chunks_per_group; e += 2, kc += 2) {
        for (int u = 0; u < 2; u++) {
          const __m512i c = _mm512_loadu_si512((const void *)(w + (size_t)(kc + u) * 64));
          for (int f = 0; f < 4; f++) {
            const __m512i d = _mm512_and_si512(f == 0 ? c : _mm512_srli_epi16(c, 2 * f), three);
            /* the activations as an embedded broadcast operand: GCC loads them with a separate
               vpbroadcastd, which ran 2-18 % slower from DRAM */
            __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc[4 * u + f]) : "v"(d), "m"(*(const int32_t *)(j->x + 16 * (kc + u) + 4 * f)));
          }
        }
      }
      for (int f = 0; f < 4; f++) acc[f] = _mm512_add_epi32(acc[f], acc[4 + f]);
      const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3]));
      const __m512i y = _mm512_sub_epi32(sum, _mm512_set1_epi32(j->xsum[g]));
      const int r0 = rg * 16;
      const int n = j->rows - r0 < 16 ? j->rows - r0 : 16;
      int32_t *o = j->out + (size_t)r0 * j->groups + g;
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

#define VT(A, T) vtile(j, rg, b0, A, T)

/* Tiles by batch rows left: up to 16 accumulators. */
VNNI static void gemm_vnni_vertical(const job_t *j) {
  if (j->batch == 1 && ternary_gemv_streams()) {
    gemv_vnni_stream(j);
    return;
  }
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

kernels_t kernels = {gemm_scalar, gemv_f16_scalar, "scalar", 0};

void choose_kernels(void) {
#ifdef BITNET_X86
  const char *force = getenv("BITNET_NATIVE_ISA");
  __builtin_cpu_init();
  int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  int avx2 = __builtin_cpu_supports("avx2");
  /* AVX-VNNI only when asked for: on the one CPU it was measured on (Zen 4, one vpdpbusd a cycle)
     it ran 10-25 % behind the AVX2 path (bench/results/kernels-llama-avx-vnni.md). */
  int avxvnni = avx2 && __builtin_cpu_supports("avxvnni") && force != NULL && strcmp(force, "avx-vnni") == 0;
  if (force != NULL && strcmp(force, "scalar") == 0) vnni = avx2 = 0;
  if (force != NULL && (strcmp(force, "avx2") == 0 || avxvnni)) vnni = 0;
  if (vnni || (force == NULL && __builtin_cpu_supports("avx512f"))) kernels.gemv_f16 = gemv_f16_avx512;
  else if (avx2 && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma")) kernels.gemv_f16 = gemv_f16_avx2;
  choose_sgemm(force == NULL ? __builtin_cpu_supports("avx512f") : vnni, avx2 && __builtin_cpu_supports("fma"));
  choose_attention(force == NULL ? __builtin_cpu_supports("avx512f") : vnni, avx2);
  choose_silu(avx2);
  choose_train(force == NULL ? __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") : vnni, avx2);
  if (vnni) { kernels.gemm = gemm_vnni_vertical; kernels.name = "avx512-vnni"; kernels.vertical = 1; }
  else if (avxvnni) { kernels.gemm = gemm_avxvnni; kernels.name = "avx-vnni"; kernels.vertical = 1; }
  else if (avx2) { kernels.gemm = gemm_avx2_vertical; kernels.name = "avx2"; kernels.vertical = 1; }
#elif defined(__aarch64__)
  choose_kernels_arm(getenv("BITNET_NATIVE_ISA"));
#endif
}

