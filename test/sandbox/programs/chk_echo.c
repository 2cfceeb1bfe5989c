/* Checker: OK, with the contestant's whole output as the comment (line 2). */
#include <stdio.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  FILE *out = fopen(argv[2], "r");
  if (!out) return 2;
  printf("OK\n");
  int c;
  while ((c = fgetc(out)) != EOF) if (c != '\n') putchar(c);
  printf("\n100\n");
  return 0;
}
