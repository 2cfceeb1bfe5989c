/* Two threads, each burning about MS ms of CPU (from stdin), then "done". */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
static int ms = 300;
static void *burn(void *arg) {
  (void)arg;
  struct timespec t0, t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  volatile unsigned long x = 0;
  do {
    for (int i = 0; i < 100000; i++) x++;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
  return NULL;
}
int main(void) {
  if (scanf("%d", &ms) != 1) ms = 300;
  pthread_t a, b;
  pthread_create(&a, NULL, burn, NULL);
  pthread_create(&b, NULL, burn, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  puts("done");
  return 0;
}
