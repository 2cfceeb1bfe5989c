/* Spends about BURN_MS (argument-free: read from stdin, default 300) of CPU, then prints "done". */
#include <stdio.h>
#include <time.h>
int main(void) {
  int ms = 300;
  if (scanf("%d", &ms) != 1) ms = 300;
  struct timespec t0, t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  volatile unsigned long x = 0;
  do {
    for (int i = 0; i < 100000; i++) x++;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
  puts("done");
  return 0;
}
