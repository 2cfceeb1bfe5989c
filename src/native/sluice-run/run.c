/*
 * The supervisor of one run: it starts the program (child.c, or a sandbox: sandbox.c), enforces
 * CPU (whole tree, polled every few ms), wall, memory (without a memory cgroup), output and disk
 * limits, kills and reaps every descendant, then reports one JSON line. It never decides verdicts:
 * that is sandbox/verdict.ts's job.
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The sandbox's pid 1 (its namespaces, mounts, the program's fork: ~0.5 ms) is not the program: its
   CPU is measured from /proc/PID/schedstat while it lives and as a zombie, and subtracted, but never
   more than SANDBOX_CPU_CAP_NS, so that a program that could make it burn CPU gains nothing. */
#define SANDBOX_CPU_CAP_NS 10000000LL
static pid_t init_pid;
static long long init_ns;
static int init_read = -1;
int perf_sock = -1;
static int perf_fd = -1;
static char init_text[64]; /* what pid 1 wrote: "W<status>\n" */
static size_t init_len;

static long long sandbox_ns(void) {
  if (!init_pid) return 0;
  long long ns = runtime_ns(init_pid);
  if (ns > init_ns) init_ns = ns;
  return init_ns < SANDBOX_CPU_CAP_NS ? init_ns : SANDBOX_CPU_CAP_NS;
}

/* The program's wait status as the sandbox's pid 1 reported it, or -1. */
static int program_status(void) {
  if (init_read < 0) return -1;
  drain(init_read, init_text, sizeof init_text, &init_len);
  return init_text[0] == 'W' ? atoi(init_text + 1) : -1;
}

/* Reaps every child that has ended, noting pid 1's CPU while it is a zombie. */
static void reap(pid_t main_child, int *status, int *alive) {
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 || !si.si_pid) return;
    sandbox_ns();
    int st;
    if (waitpid(si.si_pid, &st, WNOHANG | __WALL) == main_child) *status = st, *alive = 0;
  }
}

static int open_out(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die("cannot open %s: %s", path, strerror(errno));
  return fd;
}

static long long out_size(int fd) {
  struct stat st;
  return fd >= 0 && !fstat(fd, &st) ? (long long)st.st_size : 0;
}

struct streams {
  int in, out, err;
};

static struct streams open_streams(void) {
  struct streams s = {-1, -1, -1};
  if (o.stdin_path) {
    s.in = open(o.stdin_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (s.in < 0) die("cannot open %s: %s", o.stdin_path, strerror(errno));
  }
  if (o.stdout_path) s.out = open_out(o.stdout_path);
  if (o.stderr_path) {
    s.err = !strcmp(o.stderr_path, "/dev/null") ? open("/dev/null", O_WRONLY | O_CLOEXEC) : open_out(o.stderr_path);
    if (s.err < 0) die("cannot open %s: %s", o.stderr_path, strerror(errno));
  }
  return s;
}

struct watch {
  const char *killed_by;
  long long poll_cpu_ns, poll_rss_kb;
};

/* Sleeps until a child changes state, a signal arrives, or the next check is due; checks every limit. */
static void watch(pid_t pid, long long start, int out_fd, const sigset_t *mask, int *status, int *alive, struct watch *w) {
  int use_cg_cpu = cg_has(CG_CPU);
  while (*alive) {
    reap(pid, status, alive);
    if (!*alive) break;
    long long elapsed = now_ns() - start;
    if (o.wall_ms && elapsed >= o.wall_ms * 1000000LL) { w->killed_by = "wall"; break; }
    /* In ns throughout: the program's CPU = the group's (or the tree's) minus the sandbox's own. */
    long long raw_ns = -1, tree_cpu = -1;
    if (o.poll_rss || (o.cpu_ms && !use_cg_cpu)) tree_usage(&tree_cpu, &w->poll_rss_kb);
    if (o.cpu_ms && use_cg_cpu) raw_ns = cg_cpu_ns();
    else if (tree_cpu >= 0) raw_ns = tree_cpu * 1000000LL;
    if (raw_ns > w->poll_cpu_ns) w->poll_cpu_ns = raw_ns;
    long long prog_ns = raw_ns >= 0 ? raw_ns - sandbox_ns() : -1;
    if (o.cpu_ms && prog_ns >= o.cpu_ms * 1000000LL) { w->killed_by = "cpu"; break; }
    if (o.poll_rss && o.mem_kb && w->poll_rss_kb > o.mem_kb) { w->killed_by = "memory"; break; }
    if (o.output_limit && out_size(out_fd) > o.output_limit) { w->killed_by = "output"; break; }
    if (disk_fd >= 0 && disk_over()) { w->killed_by = "disk"; break; }
    if (o.instruction_limit && perf_count(perf_fd) >= o.instruction_limit) { w->killed_by = "cpu"; break; }
    long long wait_ns = POLL_NS;
    if (o.cpu_ms && prog_ns >= 0 && o.cpu_ms * 1000000LL - prog_ns < 2 * POLL_NS) wait_ns = POLL_NS / 5;
    if (o.wall_ms) {
      long long left = o.wall_ms * 1000000LL - (now_ns() - start);
      if (left < wait_ns) wait_ns = left > 100000 ? left : 100000;
    }
    struct timespec ts = {wait_ns / 1000000000LL, wait_ns % 1000000000LL};
    siginfo_t si;
    int sig = sigtimedwait(mask, &si, &ts);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) { w->killed_by = "terminated"; break; }
  }
}

/*
 * Kills and reaps every descendant: orphans re-parent to us (subreaper), so none can hide. When a
 * limit stopped a sandboxed run, the program goes first: killing pid 1 would make the kernel reap
 * the program without accounting (a dying pid namespace ignores SIGCHLD), and its CPU and peak RSS
 * would not reach our rusage.
 */
static void kill_and_reap(pid_t pid, const char *killed_by, const sigset_t *mask, int *status, int *alive) {
  long long gentle_until = killed_by && o.sandbox ? now_ns() + 200000000LL : 0;
  for (int rounds = 0;; rounds++) {
    if (*alive && now_ns() < gentle_until) kill_deeper(0);
    else kill_all(pid, *alive);
    reap(pid, status, alive);
    if (waitid(P_ALL, 0, &(siginfo_t){0}, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 && errno == ECHILD) break;
    struct timespec ts = {0, rounds < 100 ? 1000000L : 10000000L};
    siginfo_t si;
    sigtimedwait(mask, &si, &ts);
  }
}

static int report(const char *error, int status, long long start, long long wall_end, int out_fd, const struct watch *w) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  long long user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
  long long sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  long long cg_cpu = cg_cpu_ns(), cg_peak_kb, oom_kill;
  cg_memory_figures(&cg_peak_kb, &oom_kill);
  long long sandbox = sandbox_ns();
  int prog_status = program_status();
  if (disk_fd >= 0) disk_over();

  char *out = NULL;
  size_t outlen = 0;
  FILE *f = open_memstream(&out, &outlen);
  if (!f) die("out of memory");
  fputs(report_prefix, f);
  if (error) {
    fputs("\"error\":", f);
    json_str(f, error);
    fputs(",", f);
  }
  if (WIFSIGNALED(status)) fprintf(f, "\"signal\":%d,", WTERMSIG(status));
  else fprintf(f, "\"exit_code\":%d,", WEXITSTATUS(status));
  if (prog_status >= 0 && WIFSIGNALED(prog_status)) fprintf(f, "\"program_signal\":%d,", WTERMSIG(prog_status));
  else if (prog_status >= 0) fprintf(f, "\"program_exit_code\":%d,", WEXITSTATUS(prog_status));
  double cpu = (user_us + sys_us) / 1000.0;
  if (cg_cpu >= 0 && cg_cpu / 1e6 > cpu) cpu = cg_cpu / 1e6;
  if (w->poll_cpu_ns / 1e6 > cpu) cpu = w->poll_cpu_ns / 1e6;
  cpu = cpu > sandbox / 1e6 ? cpu - sandbox / 1e6 : 0;
  fprintf(f, "\"cpu_ms\":%.3f,\"user_ms\":%.3f,\"sys_ms\":%.3f,\"wall_ms\":%.3f,\"max_rss_kb\":%ld", cpu,
          user_us / 1000.0, sys_us / 1000.0, (wall_end - start) / 1e6, ru.ru_maxrss);
  if (w->poll_rss_kb) fprintf(f, ",\"polled_rss_kb\":%lld", w->poll_rss_kb);
  if (o.sandbox) fprintf(f, ",\"sandbox_cpu_ms\":%.3f", sandbox / 1e6);
  if (cg_cpu >= 0) fprintf(f, ",\"cg_cpu_ms\":%.3f", cg_cpu / 1e6);
  if (cg_peak_kb >= 0) fprintf(f, ",\"cg_peak_kb\":%lld", cg_peak_kb);
  if (oom_kill >= 0) fprintf(f, ",\"oom_kill\":%lld", oom_kill);
  if (out_fd >= 0) fprintf(f, ",\"output_bytes\":%lld", out_size(out_fd));
  if (disk_fd >= 0) fprintf(f, ",\"disk_bytes\":%lld", disk_peak);
  if (perf_fd >= 0) fprintf(f, ",\"instructions\":%lld", perf_count(perf_fd));
  if (w->killed_by) {
    fputs(",\"killed_by\":", f);
    json_str(f, w->killed_by);
  }
  fputs("}\n", f);
  fclose(f);
  return write(report_fd, out, outlen) < 0 ? 70 : 0;
}

int run_body(const char *cg_error) {
  if (cg_error) die("%s", cg_error);
  struct streams s = open_streams();
  if (o.sandbox) sandbox_load_filter(), sandbox_detach_sources();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1)) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  cg_limit();
  if (o.disk_dir) disk_prepare();

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);

  int errpipe[2], initpipe[2] = {-1, -1}, perfpair[2] = {-1, -1};
  if (pipe2(errpipe, O_CLOEXEC)) die("pipe: %s", strerror(errno));
  if (o.count_event && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, perfpair)) die("socketpair: %s", strerror(errno));
  perf_sock = perfpair[1];
  if (o.sandbox && pipe2(initpipe, O_CLOEXEC)) die("pipe: %s", strerror(errno));
  pid_t parent = getpid();
  long long start = now_ns();
  pid_t pid = o.sandbox ? sandbox_start(errpipe[1], s.in, s.out, s.err, initpipe[1]) : fork();
  if (pid < 0) die("%s: %s", o.sandbox ? "cannot create the sandbox's namespaces (clone)" : "fork", strerror(errno));
  if (pid == 0) {
    close(errpipe[0]);
    child(errpipe[1], s.in, s.out, s.err, parent);
  }
  close(errpipe[1]);
  if (o.sandbox) {
    close(initpipe[1]);
    init_read = initpipe[0];
    fcntl(init_read, F_SETFL, O_NONBLOCK);
    init_pid = pid;
  }
  for (int i = 0; i < o.nfds; i++) close(o.fds[i].fd);
  for (int i = 0; i < o.nmounts; i++)
    if (o.mounts[i].fd >= 0) close(o.mounts[i].fd);
  if (s.in >= 0) close(s.in);
  if (s.err >= 0) close(s.err);

  /* Blocks until the program is exec'd (EOF: every copy is close-on-exec) or a step failed (a message). */
  static char errbuf[1024];
  ssize_t elen;
  while ((elen = read(errpipe[0], errbuf, sizeof errbuf - 1)) < 0 && errno == EINTR) {}
  close(errpipe[0]);
  if (elen > 0) errbuf[elen] = 0;
  if (perfpair[0] >= 0) {
    close(perfpair[1]);
    perf_fd = perf_receive_counter(perfpair[0]);
    close(perfpair[0]);
  }

  int status = 0, alive = 1;
  struct watch w = {0};
  if (elen <= 0) watch(pid, start, s.out, &mask, &status, &alive, &w);
  long long wall_end = now_ns();
  kill_and_reap(pid, w.killed_by, &mask, &status, &alive);
  int rc = report(elen > 0 ? errbuf : NULL, status, start, wall_end, s.out, &w);
  /* After the report: removing memory cgroups takes a while and nobody needs to wait for it.
     A supervisor inside its groups cannot remove them: its server does, once it has exited. */
  if (!self_joined) cg_remove();
  return rc;
}
