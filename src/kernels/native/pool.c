// A persistent thread pool: workers and the caller spin a bounded time (BITNET_SPIN_US, default
// 200 us) for the next job or the last result, then sleep on a condition variable. Decoding calls
// the pool ~200 times a token for 20-100 us each; a wake-up through the condition variable alone
// cost as much as the work. An unbounded spin is worse: on a busy 2-core machine a spinning pool
// turns 0.1 ms calls into milliseconds when another process holds a core.
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "native.h"

/* ------------------------------------------------------------------ thread pool */

#define MAX_THREADS 64
static pthread_t workers[MAX_THREADS];
static job_t jobs[MAX_THREADS];
static int started_workers = 0, generation = 0, pending = 0;
/* The generation each worker was created in: a worker waits for the next one. Starting from 0
   instead let a worker made in a later call take the generation it was born in for a new job,
   count itself done before running the real one, and let the caller return (reading results,
   freeing buffers) while it still ran. Written before pthread_create, which orders it. */
static int born_in[MAX_THREADS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_start = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;

static long spin_ns = -1;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpu_relax(void) {
#ifdef BITNET_X86
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Spins while (*v == value) == equal, at most the spin time; returns the last value read. */
static int spin_while(const int *v, int value, int equal) {
  int seen = __atomic_load_n(v, __ATOMIC_ACQUIRE);
  if ((seen == value) != equal || spin_ns <= 0) return seen;
  const long end = now_ns() + spin_ns;
  for (int i = 1;; i++) {
    cpu_relax();
    seen = __atomic_load_n(v, __ATOMIC_ACQUIRE);
    if ((seen == value) != equal) return seen;
    if ((i & 63) == 0 && now_ns() > end) return seen;
  }
}

static void *worker_main(void *arg) {
  const int id = (int)(intptr_t)arg;
  int seen = born_in[id];
  for (;;) {
    if (spin_while(&generation, seen, 1) == seen) {
      pthread_mutex_lock(&mu);
      while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == seen) pthread_cond_wait(&cv_start, &mu);
      pthread_mutex_unlock(&mu);
    }
    seen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
    job_t job = jobs[id];
    if (job.r1 > job.r0) job.fn(&job);
    if (__atomic_sub_fetch(&pending, 1, __ATOMIC_ACQ_REL) == 0) {
      pthread_mutex_lock(&mu);
      pthread_cond_signal(&cv_done);
      pthread_mutex_unlock(&mu);
    }
  }
  return NULL;
}

void run_jobs(const job_t *base, int threads) {
  if (threads > base->rows) threads = base->rows;
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (spin_ns < 0) {
    const char *us = getenv("BITNET_SPIN_US");
    spin_ns = us == NULL ? 200000 : atol(us) * 1000;
  }
  while (started_workers < threads - 1) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    born_in[started_workers + 1] = generation;
    if (pthread_create(&workers[started_workers], &attr, worker_main, (void *)(intptr_t)(started_workers + 1)) != 0) {
      pthread_attr_destroy(&attr);
      break;
    }
    pthread_attr_destroy(&attr);
    started_workers++;
  }
  if (threads - 1 > started_workers) threads = started_workers + 1;
  int per = (base->rows + threads - 1) / threads;
  const int align = base->align > 0 ? base->align : kernels.vertical ? 16 : 1;
  per = (per + align - 1) / align * align;
  job_t own = *base;
  own.r0 = 0;
  own.r1 = per < base->rows ? per : base->rows;
  if (threads > 1) {
    /* every worker has copied its previous job: the last call waited for pending == 0 */
    for (int t = 1; t <= started_workers; t++) {
      jobs[t] = *base;
      jobs[t].r0 = t < threads ? (t * per < base->rows ? t * per : base->rows) : 0;
      jobs[t].r1 = t < threads ? ((t + 1) * per < base->rows ? (t + 1) * per : base->rows) : 0;
    }
    __atomic_store_n(&pending, started_workers, __ATOMIC_RELEASE);
    pthread_mutex_lock(&mu);
    __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
    pthread_cond_broadcast(&cv_start);
    pthread_mutex_unlock(&mu);
  }
  own.fn(&own);
  if (threads > 1 && spin_while(&pending, 0, 0) != 0) {
    pthread_mutex_lock(&mu);
    while (__atomic_load_n(&pending, __ATOMIC_ACQUIRE) > 0) pthread_cond_wait(&cv_done, &mu);
    pthread_mutex_unlock(&mu);
  }
}

