// Runs the native ternary GEMM through its C entry points (ternary_prepare, ternary_gemm) outside
// Node, so kernels of other architectures can be checked under qemu-user (test/kernels/cross-arch.test.ts).
// Usage: driver <problems> <results>. Problems: int32 count, then per problem int32 rows, cols (a
// multiple of 256), batch, groupCols, threads, the codes (rows * cols / 4 bytes, the TQ2 packed
// layout) and x (batch * cols int8). Results: each problem's batch * rows * groups int32 outputs.
// Prints the kernel path that ran; exits 1 with a message on any error.
#include <stdio.h>
#include <stdlib.h>
#include "../../src/kernels/native/native.h"

static void fail(const char *what) {
  fprintf(stderr, "driver: %s\n", what);
  exit(1);
}

static void read_exact(FILE *f, void *dst, size_t n) {
  if (fread(dst, 1, n, f) != n) fail("problem file ends early");
}

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: driver <problems> <results>");
  choose_kernels();
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (in == NULL || out == NULL) fail("cannot open the files");
  int32_t count;
  read_exact(in, &count, 4);
  for (int p = 0; p < count; p++) {
    int32_t h[5];
    read_exact(in, h, sizeof h);
    const int rows = h[0], cols = h[1], batch = h[2], gcols = h[3], threads = h[4];
    if (rows <= 0 || cols <= 0 || cols % 256 != 0 || batch <= 0 || gcols <= 0 || cols % gcols != 0) fail("bad problem header");
    const size_t ncodes = (size_t)rows * cols / 4, nx = (size_t)batch * cols, nout = (size_t)batch * rows * (cols / gcols);
    uint8_t *codes = malloc(ncodes), *prepared = malloc(ternary_prepared_size(rows, cols));
    int8_t *x = malloc(nx);
    int32_t *y = malloc(nout * 4);
    if (codes == NULL || prepared == NULL || x == NULL || y == NULL) fail("out of memory");
    read_exact(in, codes, ncodes);
    read_exact(in, x, nx);
    ternary_prepare(codes, rows, cols, prepared);
    const char *error = ternary_gemm(prepared, ternary_prepared_size(rows, cols), rows, cols, x, nx, batch, gcols, y, nout, threads);
    if (error != NULL) fail(error);
    if (fwrite(y, 4, nout, out) != nout) fail("cannot write the results");
    free(codes);
    free(prepared);
    free(x);
    free(y);
  }
  if (fclose(out) != 0) fail("cannot write the results");
  printf("%s\n", kernels.name);
  return 0;
}
