/* What the sandbox looks like from inside: hostname, pid, parent, bounding set, no_new_privs, a SysV segment's fate. */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <unistd.h>
int main(void) {
  char host[256] = "";
  gethostname(host, sizeof host);
  int bounding = 0;
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) bounding++;
  /* A segment a run leaves behind would be there for the next run in a shared IPC namespace. */
  int id = shmget(0x51ce, 4096, IPC_CREAT | IPC_EXCL | 0600);
  printf("host=%s pid=%d ppid=%d bounding=%d nonewprivs=%d shm=%s\n", host, (int)getpid(), (int)getppid(), bounding,
         prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), id >= 0 ? "fresh" : "exists");
  return 0;
}
