/* 200 MiB static array, every page touched. */
#include <stdio.h>
#define SIZE (200L << 20)
static char big[SIZE];
int main(void) {
  volatile char *p = big;
  for (long i = 0; i < SIZE; i += 4096) p[i] = 1;
  puts("done");
  return 0;
}
