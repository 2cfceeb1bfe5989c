/* Writes the 256 byte values, then a newline. */
#include <stdio.h>
int main(void) {
  for (int i = 0; i < 256; i++) putchar(i == '\n' ? 'n' : i);
  putchar('\n');
  return 0;
}
