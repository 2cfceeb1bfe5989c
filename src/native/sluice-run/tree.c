/* The process tree below this helper, read from /proc: for CPU and RSS without cgroups, and for kills. */
#include "sluice-run.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pids of the children of every thread of `pid` (needs CONFIG_PROC_CHILDREN). */
static int children_of(int pid, int *out, int max) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    if (e->d_name[0] == '.') continue;
    char file[128];
    snprintf(file, sizeof file, "/proc/%d/task/%d/children", pid, atoi(e->d_name));
    FILE *f = fopen(file, "re");
    if (!f) continue;
    int c;
    while (n < max && fscanf(f, "%d", &c) == 1) out[n++] = c;
    fclose(f);
  }
  closedir(d);
  return n;
}

/* Every live descendant of this helper, breadth first (bounded). */
static int descendants(int *out, int max) {
  int n = children_of(getpid(), out, max);
  for (int i = 0; i < n && n < max; i++) n += children_of(out[i], out + n, max - n);
  return n;
}

/*
 * Reads /proc/PID/stat into f[3..nf-1], numbered as in proc(5) (the command name in parentheses,
 * which may hold spaces, is skipped). Returns 0, or -1 when the process is gone.
 */
int read_stat(int pid, long long *f, int nf) {
  char dir[32], buf[1024];
  snprintf(dir, sizeof dir, "/proc/%d", pid);
  if (read_file(dir, "stat", buf, sizeof buf) <= 0) return -1;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  for (int i = 0; i < nf; i++) f[i] = 0;
  int idx = 3;
  for (char *tok = strtok(p + 2, " "); tok && idx < nf; tok = strtok(NULL, " "), idx++) f[idx] = atoll(tok);
  return 0;
}

/* Sums utime+stime+cutime+cstime (ms) and finds the largest RSS (kB) over the live tree. */
void tree_usage(long long *cpu_ms, long long *max_rss_kb) {
  static long ticks = 0, page_kb = 0;
  if (!ticks) ticks = sysconf(_SC_CLK_TCK), page_kb = sysconf(_SC_PAGESIZE) / 1024;
  int pids[4096];
  int n = descendants(pids, 4096);
  long long ticks_sum = 0, rss = 0;
  for (int i = 0; i < n; i++) {
    /* utime(14) stime(15) cutime(16) cstime(17) ... rss(24) */
    long long f[25];
    if (read_stat(pids[i], f, 25)) continue;
    ticks_sum += f[14] + f[15] + f[16] + f[17];
    if (f[24] * page_kb > rss) rss = f[24] * page_kb;
  }
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  long long reaped = ru.ru_utime.tv_sec * 1000LL + ru.ru_utime.tv_usec / 1000 + ru.ru_stime.tv_sec * 1000LL +
                     ru.ru_stime.tv_usec / 1000;
  *cpu_ms = reaped + ticks_sum * 1000 / ticks;
  *max_rss_kb = rss;
}

/* Kills the descendants more than `depth` levels below this helper's children (0 = grandchildren). */
void kill_deeper(int depth) {
  int pids[4096];
  int n = children_of(getpid(), pids, 4096), level_start = 0, level = 0;
  while (level_start < n && n < 4096) {
    int level_end = n;
    for (int i = level_start; i < level_end && n < 4096; i++) n += children_of(pids[i], pids + n, 4096 - n);
    level_start = level_end;
    level++;
    if (level > depth)
      for (int i = level_start; i < n; i++) kill(pids[i], SIGKILL);
  }
}

void kill_all(pid_t child, int child_alive) {
  if (child_alive) {
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
  }
  cg_kill();
  int pids[4096];
  int n = descendants(pids, 4096);
  for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
}

/* CPU time a process has run, in ns (/proc/PID/schedstat), or -1 once it is reaped. */
long long runtime_ns(pid_t pid) {
  char dir[32], buf[128];
  snprintf(dir, sizeof dir, "/proc/%d", (int)pid);
  return read_file(dir, "schedstat", buf, sizeof buf) > 0 ? atoll(buf) : -1;
}

/* Tasks (threads count: RLIMIT_NPROC counts tasks) of this real uid, from /proc/PID/stat's num_threads. */
int count_own_tasks(void) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  int n = 0;
  uid_t me = getuid();
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    struct stat st;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", atoi(e->d_name));
    if (stat(path, &st) || st.st_uid != me) continue;
    long long f[21]; /* num_threads(20) */
    if (read_stat(atoi(e->d_name), f, 21)) continue;
    n += f[20] > 0 ? (int)f[20] : 1;
  }
  closedir(d);
  return n;
}
