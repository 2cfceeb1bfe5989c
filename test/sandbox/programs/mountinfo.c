/* Prints /proc/self/mountinfo (a sandbox with /proc). */
#include <stdio.h>
int main(void) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (!f) return puts("no mountinfo"), 0;
  int c;
  while ((c = fgetc(f)) != EOF) putchar(c);
  return 0;
}
