/*
 * sluice-reap: runs one command so that no process it starts outlives it (a `system` job's shell, a
 * `js` job's Node child).
 *
 *   sluice-reap PARENT_PID -- PROGRAM [ARGS...]
 *
 * Following parent links from the outside cannot find a process that daemonized (double fork and
 * setsid: it is re-parented to init). So this helper becomes a child subreaper: every orphan among
 * its descendants is re-parented to it instead, and stays findable. It forks PROGRAM (in a process
 * group of its own, with this helper's stdin, stdout, stderr and environment) and waits. When
 * PROGRAM exits, or on SIGTERM/SIGINT/SIGHUP (an abort), or when PARENT_PID dies (PR_SET_PDEATHSIG,
 * even a SIGKILLed worker), it SIGKILLs every descendant, reaps them until it has no child left,
 * and ends as PROGRAM did: the same exit code, or killed by the same signal.
 *
 * PR_SET_PDEATHSIG fires when the thread that forked us ends; Node forks from its main thread, so
 * that is the worker's death. PARENT_PID closes the race with a parent that died before the prctl.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 65536

static pid_t ppid_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = 0;
  /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'. */
  char *p = strrchr(buf, ')');
  int ppid;
  char state;
  if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2) return -1;
  return ppid;
}

/* SIGKILLs every live descendant of this process (one pass over /proc); returns how many. */
static int kill_descendants(void) {
  static pid_t pids[MAX_PROCS], ppids[MAX_PROCS];
  static unsigned char *mine; /* a bit per pid: a descendant (or this process) */
  static long pid_max;
  if (!mine) {
    FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
    if (!f || fscanf(f, "%ld", &pid_max) != 1 || pid_max <= 0) pid_max = 4194304;
    if (f) fclose(f);
    mine = calloc((size_t)pid_max / 8 + 1, 1);
    if (!mine) return 0;
  }
#define BIT(p) (mine[(p) / 8] & (1 << ((p) % 8)))
#define MARK(p) (mine[(p) / 8] |= (unsigned char)(1 << ((p) % 8)))
  int n = 0;
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < MAX_PROCS) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0 || pid >= pid_max) continue;
    pid_t ppid = ppid_of(pid);
    if (ppid <= 0 || ppid >= pid_max) continue;
    pids[n] = pid;
    ppids[n] = ppid;
    n++;
  }
  closedir(d);
  memset(mine, 0, (size_t)pid_max / 8 + 1);
  MARK(getpid());
  /* Level by level until a pass adds none: /proc lists pids in no guaranteed parent-first order. */
  int found = 0, added;
  do {
    added = 0;
    for (int i = 0; i < n; i++)
      if (!BIT(pids[i]) && BIT(ppids[i])) MARK(pids[i]), added++;
    found += added;
  } while (added);
  for (int i = 0; i < n; i++)
    if (pids[i] != getpid() && BIT(pids[i])) kill(pids[i], SIGKILL);
  return found;
#undef BIT
#undef MARK
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Ends this process the way the program ended. */
static void end_as(int status) {
  if (!WIFSIGNALED(status)) exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  exit(128 + sig);
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: sluice-reap PARENT_PID -- PROGRAM [ARGS...]\n");
    return 2;
  }
  pid_t parent = (pid_t)atoi(argv[1]);

  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGCHLD);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop, &old);

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    fprintf(stderr, "sluice-reap: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
    return 70;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) return 128 + SIGTERM; /* the worker is already gone: run nothing */

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "sluice-reap: fork: %s\n", strerror(errno));
    return 70;
  }
  if (child == 0) {
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[3], argv + 3);
    fprintf(stderr, "sluice-reap: cannot run %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  setpgid(child, child); /* also here: no kill(-child) may miss a group not made yet */

  int status = 0, child_alive = 1;
  while (child_alive) {
    siginfo_t si;
    int sig = sigwaitinfo(&stop, &si);
    if (sig == SIGCHLD) {
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        if (pid == child) status = st, child_alive = 0;
    } else if (sig > 0) {
      break; /* told to stop, or the worker died */
    }
  }

  /* Kills and reaps until no child is left: orphans re-parent to us, so none can hide. */
  for (int round = 0;; round++) {
    if (child_alive) kill(-child, SIGKILL);
    kill_descendants();
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
      if (pid == child) status = st, child_alive = 0;
    if (pid < 0 && errno == ECHILD) break;
    pause_ms(round < 100 ? 1 : 10);
  }
  end_as(status);
  return 70;
}
