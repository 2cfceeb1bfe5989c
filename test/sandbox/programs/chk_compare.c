/* Checker: compares the first token of out and hint; prints OK / "OK" / 42, or WRONG and exits 1. */
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  char a[256] = "", b[256] = "";
  FILE *out = fopen(argv[2], "r"), *hint = fopen(argv[3], "r");
  if (!out || !hint) return 2;
  if (fscanf(out, "%255s", a) != 1 || fscanf(hint, "%255s", b) != 1 || strcmp(a, b)) {
    printf("WRONG\nexpected %s, got %s\n", b, a);
    return 1;
  }
  printf("OK\nOK\n42\n");
  return 0;
}
