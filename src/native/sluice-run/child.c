/*
 * The forked child's steps before exec: signals, the standard streams and fds, rlimits, ids.
 * An unsandboxed run does them all in one child (child()); a sandboxed one splits them between
 * the sandbox's pid 1 and the program's process (sandbox.c).
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

void child_fail(int errfd, const char *what, const char *arg) {
  char msg[600];
  int len = snprintf(msg, sizeof msg, "%s %s: %s", what, arg, strerror(errno));
  if (write(errfd, msg, (size_t)len) < 0) { /* the parent sees an empty message */ }
  _exit(127);
}

/* Ignored signals survive exec (Node ignores SIGPIPE; the server too); handlers do not. */
void child_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  static const int reset[] = {SIGPIPE, SIGXFSZ, SIGXCPU, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                              SIGALRM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH, SIGIO};
  for (unsigned i = 0; i < sizeof reset / sizeof *reset; i++) signal(reset[i], SIG_DFL);
}

/* Moves a descriptor the child keeps for itself above every fd the program gets (targets are 0-64,
   their temporary copies from 100), so that placing those cannot overwrite it. */
int lift_fd(int fd) {
  if (fd < 0 || fd >= 200) return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 200);
  if (high < 0) return fd;
  close(fd);
  return high;
}

/* fds 0-2 and the extra fds (pipe ends of a group run) in place. */
void child_streams(int errfd, int in_fd, int out_fd, int err_fd) {
  if (in_fd >= 0 && dup2(in_fd, 0) < 0) child_fail(errfd, "dup2", "stdin");
  if (out_fd >= 0 && dup2(out_fd, 1) < 0) child_fail(errfd, "dup2", "stdout");
  if (o.stderr_to_stdout) {
    if (dup2(1, 2) < 0) child_fail(errfd, "dup2", "stderr");
  } else if (err_fd >= 0 && dup2(err_fd, 2) < 0) child_fail(errfd, "dup2", "stderr");
  /* First moved above every target, then placed, so that no target overwrites a source. */
  for (int i = 0; i < o.nfds; i++) {
    int fd = fcntl(o.fds[i].fd, F_DUPFD_CLOEXEC, 100);
    if (fd < 0) child_fail(errfd, "fcntl", "F_DUPFD");
    o.fds[i].fd = fd;
  }
  for (int i = 0; i < o.nfds; i++)
    if (dup2(o.fds[i].fd, o.fds[i].target) < 0) child_fail(errfd, "dup2", "extra fd");
  /* The copies go at once: a pipe's read end must not outlive its place (sandbox.c closes in two calls). */
  for (int i = 0; i < o.nfds; i++) close(o.fds[i].fd);
}

static void set_limit(int errfd, int resource, const char *name, rlim_t soft, rlim_t hard) {
  struct rlimit rl = {soft, hard};
  if (setrlimit(resource, &rl)) child_fail(errfd, "cannot set", name);
}

void child_limits(int errfd) {
  set_limit(errfd, RLIMIT_CORE, "RLIMIT_CORE", 0, 0);
  if (o.cpu_ms) {
    rlim_t s = (rlim_t)((o.cpu_ms + 999) / 1000 + 1); /* whole seconds: only a backstop to the polling */
    set_limit(errfd, RLIMIT_CPU, "RLIMIT_CPU", s, s + 1);
  }
  if (o.fsize) set_limit(errfd, RLIMIT_FSIZE, "RLIMIT_FSIZE", (rlim_t)o.fsize, (rlim_t)o.fsize);
  if (o.stack_kb) set_limit(errfd, RLIMIT_STACK, "RLIMIT_STACK", (rlim_t)o.stack_kb * 1024, (rlim_t)o.stack_kb * 1024);
  if (o.as_kb) set_limit(errfd, RLIMIT_AS, "RLIMIT_AS", (rlim_t)o.as_kb * 1024, (rlim_t)o.as_kb * 1024);
  if (o.nofile) set_limit(errfd, RLIMIT_NOFILE, "RLIMIT_NOFILE", (rlim_t)o.nofile, (rlim_t)o.nofile);
  if (o.procs && !cg_has(CG_PIDS)) {
    /* RLIMIT_NPROC counts every task (thread) of the real user, and root is exempt: under a
       dedicated uid it limits the run; under the service's own uid it can only allow what exists plus N. */
    rlim_t n = (rlim_t)o.procs;
    if (!o.drop) n += (rlim_t)count_own_tasks();
    set_limit(errfd, RLIMIT_NPROC, "RLIMIT_NPROC", n, n);
  }
}

/* Every fd from 3 up but `keep` gets close-on-exec (close_range, Linux 5.11; else one by one). */
void child_cloexec_others(int errfd, const int *keep_in, int nkeep) {
  int keep[MAX_FDS + 4];
  if (nkeep > MAX_FDS + 3) nkeep = MAX_FDS + 3;
  memcpy(keep, keep_in, (size_t)nkeep * sizeof *keep);
  keep[nkeep++] = errfd;
  for (int i = 0; i < nkeep; i++) /* sort */
    for (int j = i + 1; j < nkeep; j++)
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
  unsigned lo = 3;
  for (int i = 0; i <= nkeep; i++) {
    unsigned hi = i < nkeep ? (unsigned)keep[i] : ~0U;
    if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 4 /* CLOSE_RANGE_CLOEXEC */) < 0)
      for (unsigned fd = lo; fd < hi && fd < 1024; fd++) fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    if (i < nkeep && (unsigned)keep[i] + 1 > lo) lo = (unsigned)keep[i] + 1;
  }
}

void child_ids(int errfd) {
  if (!o.drop) return;
  if (setgroups(0, NULL) && errno != EPERM) child_fail(errfd, "setgroups", "");
  if (setresgid(o.gid, o.gid, o.gid)) child_fail(errfd, "cannot switch to gid", "");
  if (setresuid(o.uid, o.uid, o.uid)) child_fail(errfd, "cannot switch to uid", "");
}

void child_exec(int errfd) {
  o.env[o.nenv] = NULL;
  if (o.chdir_to && chdir(o.chdir_to)) child_fail(errfd, "cannot chdir to", o.chdir_to);
  execve(o.argv[0], o.argv, o.env);
  child_fail(errfd, "cannot execute", o.argv[0]);
}

static void set_oom_adj(int errfd, const char *adj) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0 && write(fd, adj, strlen(adj)) < 0) child_fail(errfd, "cannot set", "oom_score_adj");
  if (fd >= 0) close(fd);
}

/* The child of an unsandboxed run: the program itself, after exec. */
void child(int errfd, int in_fd, int out_fd, int err_fd, pid_t parent) {
  errfd = lift_fd(errfd);
  perf_sock = lift_fd(perf_sock);
  child_signals();
  setpgid(0, 0);
  for (int i = 0; i < o.ncg && !self_joined; i++) {
    struct cgroup *c = &o.cg[i];
    if (!c->kinds) continue;
    if (write_file(c->dir, "cgroup.procs", "0")) child_fail(errfd, "cannot join cgroup", c->dir);
  }
  if (self_joined) set_oom_adj(errfd, "0"); /* the served supervisor's -1000 is not the program's */
  child_limits(errfd);
  child_streams(errfd, in_fd, out_fd, err_fd);
  int keep[MAX_FDS];
  for (int i = 0; i < o.nfds; i++) keep[i] = o.fds[i].target;
  child_cloexec_others(errfd, keep, o.nfds);
  child_ids(errfd);
  if (perf_sock >= 0) perf_send_counter(errfd, perf_sock);
  /* After the uid change, which clears it: the program dies with this helper. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  child_exec(errfd);
}
