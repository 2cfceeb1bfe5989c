/* Exits 0 only if ./extra_exec_file holds "DEADBEEF\n". */
#include <stdio.h>
#include <string.h>
int main(void) {
  char buf[32] = {0};
  FILE *f = fopen("extra_exec_file", "r");
  if (!f) return 2;
  if (!fgets(buf, sizeof buf, f)) return 3;
  return strcmp(buf, "DEADBEEF\n") ? 4 : 0;
}
