/* 200 MiB on the stack, every page touched. */
#include <stdio.h>
#define SIZE (200L << 20)
static int use(volatile char *p) {
  for (long i = SIZE - 1; i >= 0; i -= 4096) p[i] = 1;
  return p[0] + p[SIZE - 1];
}
int main(void) {
  volatile char big[SIZE];
  printf("%d\ndone\n", use(big) - 2);
  return 0;
}
