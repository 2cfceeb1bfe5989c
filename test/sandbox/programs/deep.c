/* Makes a folder DEPTH levels deep (its path far beyond PATH_MAX on the host), fallocates two
   40 MiB files at the bottom and exits 0: the host must still remove everything. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef DEPTH
#define DEPTH 2100
#endif
int main(void) {
  prctl(PR_SET_NAME, "sluicedeep");
  for (int i = 0; i < DEPTH; i++) {
    if (mkdir("d", 0700) || chdir("d")) {
      printf("stopped at %d\n", i);
      return 1;
    }
  }
  for (int i = 0; i < 2; i++) {
    int fd = open(i ? "b" : "a", O_WRONLY | O_CREAT, 0600);
    if (fd < 0 || fallocate(fd, 0, 0, 40L << 20)) {
      perror("fallocate");
      return 2;
    }
    close(fd);
  }
  printf("made %d levels\n", DEPTH);
  return 0;
}
