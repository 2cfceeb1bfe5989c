/* Prints COUNT times 'A' (default 100), no newline. */
#include <stdio.h>
#ifndef COUNT
#define COUNT 100
#endif
int main(void) {
  for (int i = 0; i < COUNT; i++) putchar('A');
  return 0;
}
