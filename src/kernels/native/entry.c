// The ternary GEMM's C entry points: the N-API binding (addon.c) calls them, and so does the C test
// driver (test/native/driver.c) that checks other architectures' kernels under qemu.
#include <stdlib.h>
#include <string.h>
#include "native.h"

/* 16 rows of packed codes: the rows layout and the 16-row interleaved one take the same bytes */
#define RG_BYTES_OF(cols) ((size_t)(cols) * 4)

size_t ternary_prepared_size(int rows, int cols) { return kernels.vertical ? vertical_size(rows, cols) : (size_t)rows * cols / 4; }

void ternary_prepare(const uint8_t *codes, int rows, int cols, uint8_t *dst) {
  if (kernels.vertical) repack_vertical(codes, rows, cols, dst);
  else
    for (size_t i = 0; i < (size_t)rows * cols / 4; i++) dst[i] = codes[i];
}

int ternary_prepare_in_place(uint8_t *codes, int rows, int cols) {
  if (!kernels.vertical) return 0;
  if (rows % 16 != 0) return 2;
  const size_t group = RG_BYTES_OF(cols);
  uint8_t *rows16 = malloc(group);
  if (rows16 == NULL) return -1;
  for (int g = 0; g < rows / 16; g++) {
    memcpy(rows16, codes + (size_t)g * group, group);
    repack_vertical(rows16, 16, cols, codes + (size_t)g * group);
  }
  free(rows16);
  return 1;
}

const char *ternary_gemm(const uint8_t *codes, size_t ncodes, int rows, int cols, const int8_t *x, size_t nx, int batch, int gcols, int32_t *out, size_t nout,
                         int threads) {
  if (rows <= 0 || cols <= 0 || cols % 256 != 0 || batch <= 0 || gcols < 32 || gcols % 32 != 0 || cols % gcols != 0)
    return "bad shape: cols must be a multiple of 256, groupCols a multiple of 32 dividing it";
  const int groups = cols / gcols;
  if (ncodes != ternary_prepared_size(rows, cols) || nx != (size_t)batch * cols || nout != (size_t)batch * rows * groups) return "array lengths do not match the shape";
  int32_t *xsum = calloc((size_t)batch * groups, sizeof(int32_t));
  if (xsum == NULL) return "out of memory";
  for (int b = 0; b < batch; b++)
    for (int g = 0; g < groups; g++) {
      int32_t s = 0;
      const int8_t *xg = x + (size_t)b * cols + (size_t)g * gcols;
      for (int k = 0; k < gcols; k++) s += xg[k];
      xsum[b * groups + g] = s;
    }
  job_t job = {kernels.gemm, codes, rows, cols, x, xsum, batch, gcols, groups, out, 0, rows, NULL, NULL, NULL};
  run_jobs(&job, threads);
  free(xsum);
  return NULL;
}
