/* Tries to start 60 children that wait forever; prints how many it got. */
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(void) {
  prctl(PR_SET_NAME, "sluiceforkmany");
  int ok = 0;
  for (int i = 0; i < 60; i++) {
    pid_t p = fork();
    if (p == 0) {
      for (;;) pause();
    }
    if (p > 0) ok++;
  }
  printf("%d\n", ok);
  fflush(stdout);
  return 0;
}
