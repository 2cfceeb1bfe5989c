/* 200 MiB from malloc, every page touched. */
#include <stdio.h>
#include <stdlib.h>
#define SIZE (200L << 20)
int main(void) {
  volatile char *p = malloc(SIZE);
  if (!p) return 3;
  for (long i = 0; i < SIZE; i += 4096) p[i] = 1;
  puts("done");
  return 0;
}
