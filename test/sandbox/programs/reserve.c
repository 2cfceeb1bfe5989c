/* Reserves 1 GiB (static, and mmap) but touches one page of each: resident memory stays small. */
#include <stdio.h>
#include <sys/mman.h>
static char big[1L << 30];
int main(void) {
  volatile char *p = big;
  p[12345] = 1;
  volatile char *q = mmap(0, 1L << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q == MAP_FAILED) return 3;
  q[0] = 1;
  puts("done");
  return 0;
}
