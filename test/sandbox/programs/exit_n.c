/* Reads n and exits with it. */
#include <stdio.h>
int main(void) {
  int n = 0;
  if (scanf("%d", &n) != 1) return 100;
  return n;
}
