/* A test generator (sioworkers' ingen.c): writes five files, each holding its digit, and says so. */
#include <stdio.h>
int main(void) {
  const char *names[] = {"one.txt", "two.upload", "three_upload", "upload.four", "five.five.upload"};
  for (int i = 0; i < 5; i++) {
    FILE *f = fopen(names[i], "w");
    if (!f) return 1;
    fprintf(f, "%d\n", i + 1);
    fclose(f);
  }
  printf("Everything OK\nReally");
  return 0;
}
