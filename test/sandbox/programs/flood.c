/* Writes KIB KiB (from stdin) of 'x' lines to stdout. */
#include <stdio.h>
#include <string.h>
int main(void) {
  long kib = 1024;
  if (scanf("%ld", &kib) != 1) kib = 1024;
  char line[1024];
  memset(line, 'x', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  for (long i = 0; i < kib; i++) fwrite(line, 1, sizeof line, stdout);
  return 0;
}
