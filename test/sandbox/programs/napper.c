/* Names itself sluicenapper and sleeps until killed (a run to look at from outside). */
#include <sys/prctl.h>
#include <unistd.h>
int main(void) {
  prctl(PR_SET_NAME, "sluicenapper");
  for (;;) pause();
}
