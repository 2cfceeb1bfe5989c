/* A generator that writes a file, complains on stderr and fails: nothing may be collected. */
#include <stdio.h>
int main(void) {
  FILE *f = fopen("t.upload", "w");
  if (f) fputs("x\n", f), fclose(f);
  fputs("cannot generate\n", stderr);
  return 3;
}
