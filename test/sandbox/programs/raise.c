/* Reads n and sends itself signal n. */
#include <signal.h>
#include <stdio.h>
int main(void) {
  int n = 0;
  if (scanf("%d", &n) != 1) return 100;
  raise(n);
  return 99;
}
