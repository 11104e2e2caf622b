/* Peak int8 multiply-accumulate rate of one core: 12 independent chains of 512-bit vpdpbusd
   (64 MACs each) in inline assembly, so the compiler can neither fold nor spill them.
   Prints GMAC/s, or 0 where the CPU lacks AVX-512 VNNI. Used by bench/kernels.ts. */
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vnni")) {
    printf("0\n");
    return 0;
  }
  const long n = 20000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    long left = n;
    const double t0 = now();
    __asm__ volatile(
        "1:\n"
        "vpdpbusd %%zmm20,%%zmm21,%%zmm0\n vpdpbusd %%zmm20,%%zmm21,%%zmm1\n vpdpbusd %%zmm20,%%zmm21,%%zmm2\n"
        "vpdpbusd %%zmm20,%%zmm21,%%zmm3\n vpdpbusd %%zmm20,%%zmm21,%%zmm4\n vpdpbusd %%zmm20,%%zmm21,%%zmm5\n"
        "vpdpbusd %%zmm20,%%zmm21,%%zmm6\n vpdpbusd %%zmm20,%%zmm21,%%zmm7\n vpdpbusd %%zmm20,%%zmm21,%%zmm8\n"
        "vpdpbusd %%zmm20,%%zmm21,%%zmm9\n vpdpbusd %%zmm20,%%zmm21,%%zmm10\n vpdpbusd %%zmm20,%%zmm21,%%zmm11\n"
        "dec %0\n jnz 1b\n"
        : "+r"(left)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "cc");
    const double gmacs = n * 12.0 * 64 / (now() - t0) / 1e9;
    if (gmacs > best) best = gmacs;
  }
  printf("%.1f\n", best);
  return 0;
}
