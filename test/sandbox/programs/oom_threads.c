/* Eight threads each touch 20 MiB (160 MiB in all): under a 64 MiB limit the cgroup OOM-kills. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
static void *eat(void *arg) {
  (void)arg;
  char *p = malloc(20 << 20);
  if (p) memset(p, 1, 20 << 20);
  return p;
}
int main(void) {
  prctl(PR_SET_NAME, "sluiceoom");
  pthread_t t[8];
  for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, eat, NULL);
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  return 0;
}
