/* Kills its parent (outside a sandbox: the supervisor), then says it is alive. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  kill(getppid(), SIGKILL);
  usleep(100000);
  puts("alive");
  return 0;
}
