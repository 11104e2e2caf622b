// Times llama.cpp's own TQ2_0 kernel (ggml_vec_dot_tq2_0_q8_K from node-llama-cpp's ggml CPU
// library, loaded with dlopen) on a ternary GEMM, and this machine's memory read bandwidth.
// Usage: ggml-bench <libggml-cpu.so> <rows> <cols> <batch> <reps>   -> prints "median_ms checksum"
//        ggml-bench --bandwidth                                     -> prints "GB/s"
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*vec_dot_t)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
typedef void (*quantize_row_t)(const float *x, void *y, int64_t k);

#define QK_K 256
#define TQ2_BYTES 66
#define Q8K_BYTES 292

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double bandwidth(void) {
  const size_t n = (size_t)1 << 28; /* 256M int64 = 2 GiB would be too much; use 256 MiB */
  const size_t words = n / 8;
  int64_t *buf = malloc(n);
  for (size_t i = 0; i < words; i++) buf[i] = (int64_t)i;
  double best = 1e30;
  volatile int64_t sink = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_ms();
    int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < words; i += 4) { s0 += buf[i]; s1 += buf[i + 1]; s2 += buf[i + 2]; s3 += buf[i + 3]; }
    sink += s0 + s1 + s2 + s3;
    double dt = now_ms() - t0;
    if (dt < best) best = dt;
  }
  free(buf);
  return (double)n / (best / 1e3) / 1e9;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--bandwidth") == 0) {
    printf("%.2f\n", bandwidth());
    return 0;
  }
  if (argc != 6) {
    fprintf(stderr, "usage: ggml-bench <lib> <rows> <cols> <batch> <reps>\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
  vec_dot_t dot = (vec_dot_t)dlsym(lib, "ggml_vec_dot_tq2_0_q8_K");
  quantize_row_t q_tq2 = (quantize_row_t)dlsym(lib, "quantize_row_tq2_0");
  quantize_row_t q_q8k = (quantize_row_t)dlsym(lib, "quantize_row_q8_K");
  if (!dot || !q_tq2 || !q_q8k) { fprintf(stderr, "missing symbols\n"); return 1; }
  /* ggml_cpu_init fills the fp16 -> fp32 table the TQ2_0 block scale goes through. */
  void (*cpu_init)(void) = (void (*)(void))dlsym(lib, "ggml_cpu_init");
  if (cpu_init != NULL) cpu_init();
  const int rows = atoi(argv[2]), cols = atoi(argv[3]), batch = atoi(argv[4]), reps = atoi(argv[5]);
  const int nb = cols / QK_K;
  uint8_t *w = malloc((size_t)rows * nb * TQ2_BYTES);
  uint8_t *x = malloc((size_t)batch * nb * Q8K_BYTES);
  float *row = malloc(sizeof(float) * cols);
  srand(1);
  for (int r = 0; r < rows; r++) {
    for (int k = 0; k < cols; k++) row[k] = (float)(rand() % 3 - 1);
    row[0] = 1.0f;
    q_tq2(row, w + (size_t)r * nb * TQ2_BYTES, cols);
  }
  for (int b = 0; b < batch; b++) {
    for (int k = 0; k < cols; k++) row[k] = (float)(rand() % 255 - 127) / 37.0f;
    q_q8k(row, x + (size_t)b * nb * Q8K_BYTES, cols);
  }
  float *out = malloc(sizeof(float) * rows * batch);
  double *t = malloc(sizeof(double) * reps);
  for (int rep = -1; rep < reps; rep++) {
    double t0 = now_ms();
    for (int b = 0; b < batch; b++)
      for (int r = 0; r < rows; r++)
        dot(cols, out + (size_t)b * rows + r, 0, w + (size_t)r * nb * TQ2_BYTES, 0, x + (size_t)b * nb * Q8K_BYTES, 0, 1);
    if (rep >= 0) t[rep] = now_ms() - t0;
  }
  qsort(t, reps, sizeof(double), cmp);
  double checksum = 0;
  for (int i = 0; i < rows * batch; i++) checksum += out[i] * (double)((i % 7) + 1);
  printf("%.6f %.6g\n", t[reps / 2], checksum);
  return 0;
}
