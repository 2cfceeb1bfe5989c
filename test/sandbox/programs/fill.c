/* Reads "WHERE MIB" (or takes FILL_WHERE and FILL_MIB when built with them: a checker gets no
   input) and reserves MIB MiB under WHERE (. or /tmp) with fallocate, then writes as much again,
   in 16 MiB files (each under the per-file size limit); prints how far each got. fallocate takes
   ~2 ms per GiB, far faster than any polling could stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#define CHUNK (16L << 20)
static char block[1 << 20];
int main(void) {
  prctl(PR_SET_NAME, "sluicefill");
  char where[64] = ".";
  long mib = 0;
#ifdef FILL_MIB
  snprintf(where, sizeof where, "%s", FILL_WHERE);
  mib = FILL_MIB;
#else
  if (scanf("%63s %ld", where, &mib) != 2) return 100;
#endif
  memset(block, 'x', sizeof block);
  const char *why = "ok";
  long reserved = 0, wrote = 0;
  for (int i = 0; reserved < mib << 20 && !strcmp(why, "ok"); i++) {
    char path[128];
    snprintf(path, sizeof path, "%s/reserved%d", where, i);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0 || fallocate(fd, 0, 0, CHUNK)) why = strerror(errno);
    else reserved += CHUNK;
    if (fd >= 0) close(fd);
  }
  printf("fallocated %ld MiB: %s\n", reserved >> 20, why);
  fflush(stdout);
  why = "ok";
  for (int i = 0; wrote < mib << 20 && !strcmp(why, "ok"); i++) {
    char path[128];
    snprintf(path, sizeof path, "%s/written%d", where, i);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0) why = strerror(errno);
    for (long n = 0; fd >= 0 && n < CHUNK && !strcmp(why, "ok"); n += sizeof block) {
      if (write(fd, block, sizeof block) != (ssize_t)sizeof block) why = strerror(errno);
      else wrote += sizeof block;
    }
    if (fd >= 0) close(fd);
  }
  printf("wrote %ld MiB: %s\n", wrote >> 20, why);
  return 0;
}
