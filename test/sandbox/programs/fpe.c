/* Integer division by zero (SIGFPE). */
#include <stdio.h>
int main(void) {
  volatile int zero = 0, x = 42;
  printf("%d\n", x / zero);
  return 0;
}
