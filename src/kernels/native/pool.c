// A persistent thread pool woken by a condition variable (no spin-waiting: on a busy 2-core
// machine a spinning pool turns 0.1 ms calls into milliseconds when another process holds a core).
#include <pthread.h>
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

static void *worker_main(void *arg) {
  const int id = (int)(intptr_t)arg;
  int seen = born_in[id];
  for (;;) {
    pthread_mutex_lock(&mu);
    while (generation == seen) pthread_cond_wait(&cv_start, &mu);
    seen = generation;
    job_t job = jobs[id];
    pthread_mutex_unlock(&mu);
    if (job.r1 > job.r0) job.fn(&job);
    pthread_mutex_lock(&mu);
    if (--pending == 0) pthread_cond_signal(&cv_done);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

void run_jobs(const job_t *base, int threads) {
  if (threads > base->rows) threads = base->rows;
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
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
    pthread_mutex_lock(&mu);
    for (int t = 1; t <= started_workers; t++) {
      jobs[t] = *base;
      jobs[t].r0 = t < threads ? (t * per < base->rows ? t * per : base->rows) : 0;
      jobs[t].r1 = t < threads ? ((t + 1) * per < base->rows ? (t + 1) * per : base->rows) : 0;
    }
    pending = started_workers;
    generation++;
    pthread_cond_broadcast(&cv_start);
    pthread_mutex_unlock(&mu);
  }
  own.fn(&own);
  if (threads > 1) {
    pthread_mutex_lock(&mu);
    while (pending > 0) pthread_cond_wait(&cv_done, &mu);
    pthread_mutex_unlock(&mu);
  }
}

