// Runs llama.cpp's own reference quantizers (libggml-base.so from node-llama-cpp 3.21.1's
// linux-x64 package) on floats read from stdin and prints the blocks as hex.
// Usage: ggml-quant <libggml-base.so> <tq2_0|tq1_0|q8_0> <n>  < n floats (text)  > hex
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef void (*quant_t)(const float *x, void *y, int64_t k);
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  char sym[64];
  snprintf(sym, sizeof sym, "quantize_row_%s_ref", argv[2]);
  quant_t q = (quant_t)dlsym(lib, sym);
  void (*init)(void) = (void (*)(void))dlsym(lib, "ggml_cpu_init");
  if (init) init();
  if (!q) { fprintf(stderr, "no %s\n", sym); return 1; }
  int n = atoi(argv[3]);
  size_t bytes = strcmp(argv[2], "q8_0") == 0 ? (size_t)n / 32 * 34 : strcmp(argv[2], "tq2_0") == 0 ? (size_t)n / 256 * 66 : (size_t)n / 256 * 54;
  float *x = malloc(sizeof(float) * n);
  for (int i = 0; i < n; i++) if (scanf("%f", &x[i]) != 1) return 3;
  uint8_t *y = calloc(bytes, 1);
  q(x, y, n);
  for (size_t i = 0; i < bytes; i++) printf("%02x", y[i]);
  printf("\n");
  return 0;
}
