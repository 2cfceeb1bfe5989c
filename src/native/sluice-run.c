/*
 * sluice-run: runs one program under limits and reports one JSON line on fd 3 (see docs/sandbox.md).
 *
 *   sluice-run [options] -- /path/to/program [args...]
 *
 * It becomes a child subreaper, forks, and the child (own process group; per-run cgroups joined;
 * rlimits set; stdio and extra fds placed; optionally a lower uid) execs the program, usually
 * bwrap. The parent enforces CPU (whole tree, polled every few ms), wall and output limits, kills
 * and reaps every descendant, then reports rusage and cgroup figures. It never decides verdicts:
 * that is sandbox/verdict.ts's job.
 *
 * Options (sizes in bytes unless the name says kb, times in ms; 0 = no limit):
 *   --cpu-ms N --wall-ms N --mem-kb N (RSS; cgroup limit + check) --cg-slack-kb N (cgroup extra)
 *   --as-kb N --fsize N --stack-kb N --nofile N --procs N (pids.max, else RLIMIT_NPROC)
 *   --stdin PATH --stdout PATH (created, O_APPEND) --stderr PATH | --stderr-to-stdout
 *   --output-limit N (kill when the stdout file grows beyond N)
 *   --cg-v1 DIR (a parent folder in a v1 hierarchy; repeat for memory, pids, cpuacct)
 *   --cg-v2 DIR (a parent folder in the unified hierarchy)  --cg-name NAME
 *   --uid N --gid N (drop to these host ids before exec; needs root)
 *   --rfd N=PATH (file opened read-only as fd N)  --dfd N=PATH (folder opened O_PATH as fd N)
 *   --status-pipe N (a pipe as fd N; what the program writes there is reported as "status_text")
 *   --init-pipe N (a pipe as fd N for sluice-init: "S" when the program is forked, after which bwrap
 *                 and the init are taken out of the OOM killer's choice; "W<status>" is reported as
 *                 "program_exit_code" or "program_signal", the real wait status)
 *   --disk DIR --disk-limit N (DIR: the run's own file system, from --disk-take; the program may
 *                 add N bytes to it: a root-owned ballast file leaves exactly N + DISK_MARGIN free,
 *                 and more than N is killed_by "disk"; reported as "disk_bytes")
 *   --poll-rss (no memory cgroup: poll the tree's RSS and kill above --mem-kb)
 *   --chdir DIR  --env K=V (the environment is exactly the --env values)
 *   --spare-depth N (on a limit, first kill only processes deeper than N below the child, so that
 *                   bwrap's pid 1 reaps the program and its usage reaches our rusage; then the rest)
 *
 * Other modes:
 *   served frames "--disk-take TEMPLATE UID" (answers {"disk": NAME}: a copy of that ext4 image,
 *              mounted next to it, box/ and tmp/ inside owned by UID) and "--disk-detach PATH"; see "disks"
 *   sluice-run --disk-detach PATH...  (one-shot: the probe's sweep of dead processes' disks)
 *   sluice-run --remove PATH  removes a tree a program made (any depth, no symlink followed);
 *              errors on stderr
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CG 4
#define MAX_FDS 8
#define MAX_ENV 32
#define POLL_NS 10000000L /* 10 ms */

enum cg_kind { CG_MEMORY = 1, CG_PIDS = 2, CG_CPU = 4 };

struct cgroup {
  char parent[PATH_MAX];
  char dir[PATH_MAX];
  int v2;
  int kinds; /* what this folder is used for */
  int cpu_fd;
};

struct fdspec {
  int target;
  int fd;
};

static struct {
  long long cpu_ms, wall_ms, mem_kb, slack_kb, as_kb, fsize, stack_kb, nofile, procs, output_limit, disk_limit;
  const char *stdin_path, *stdout_path, *stderr_path, *chdir_to, *cg_name, *disk_dir;
  int stderr_to_stdout, poll_rss, drop, spare_depth;
  uid_t uid;
  gid_t gid;
  struct cgroup cg[MAX_CG];
  int ncg;
  struct fdspec fds[MAX_FDS];
  int nfds;
  int status_read, init_read;
  char *env[MAX_ENV + 1];
  int nenv;
  char **argv;
} o;

static int report_fd = 3;
/* A served supervisor joins its run's cgroups itself, before its request arrives: joining (a write
   to cgroup.procs) can wait for an RCU grace period, ~20 ms here when runs are not back to back.
   Its own CPU since then is subtracted, and the server removes the groups after reaping it. */
static int self_joined;
static long long self_cpu_base;
static char report_prefix[128] = "{"; /* "{" or, for a served run, "{"id":"...", */
static char errbuf[1024];

/* ---------- small utilities ---------- */

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* Writes {"error": ...} and exits: the caller turns it into SE. */
static void die(const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f) {
    fputs(report_prefix, f);
    fputs("\"error\":", f);
    json_str(f, msg);
    fputs("}\n", f);
    fclose(f);
    if (write(report_fd, buf, len) < 0) { /* nothing more to do */ }
  }
  exit(70);
}

static long long num(const char *opt, const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0) die("option %s: not a number: %s", opt, s);
  return v;
}

static int write_file(const char *dir, const char *name, const char *value) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, value, strlen(value));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Reads a small file into buf; returns its length or -1. */
static ssize_t read_file(const char *dir, const char *name, char *buf, size_t size) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* The number after `key` in a "key value" listing (memory.events, oom_control, cpu.stat). */
static long long field(const char *text, const char *key) {
  size_t k = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (!strncmp(p, key, k) && p[k] == ' ') return atoll(p + k + 1);
  }
  return -1;
}

/* ---------- options ---------- */

static void parse(int argc, char **argv, int need_program) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) { i++; break; }
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NUM(name, field_)                     \
  if (!strcmp(a, name)) {                     \
    if (!v) die("option %s needs a value", a); \
    o.field_ = num(a, v);                      \
    i++;                                       \
    continue;                                  \
  }
#define STR(name, field_)                     \
  if (!strcmp(a, name)) {                     \
    if (!v) die("option %s needs a value", a); \
    o.field_ = v;                              \
    i++;                                       \
    continue;                                  \
  }
    NUM("--cpu-ms", cpu_ms) NUM("--wall-ms", wall_ms) NUM("--mem-kb", mem_kb) NUM("--cg-slack-kb", slack_kb)
    NUM("--as-kb", as_kb) NUM("--fsize", fsize) NUM("--stack-kb", stack_kb) NUM("--nofile", nofile)
    NUM("--procs", procs) NUM("--output-limit", output_limit) NUM("--disk-limit", disk_limit)
    STR("--stdin", stdin_path) STR("--stdout", stdout_path) STR("--stderr", stderr_path)
    STR("--chdir", chdir_to) STR("--cg-name", cg_name) STR("--disk", disk_dir)
#undef NUM
#undef STR
    if (!strcmp(a, "--stderr-to-stdout")) { o.stderr_to_stdout = 1; continue; }
    if (!strcmp(a, "--poll-rss")) { o.poll_rss = 1; continue; }
    if (!strcmp(a, "--spare-depth")) {
      if (!v) die("option %s needs a value", a);
      o.spare_depth = (int)num(a, v) + 1;
      i++;
      continue;
    }
    if (!v) die("unknown option or missing value: %s", a);
    i++;
    if (!strcmp(a, "--uid")) { o.uid = (uid_t)num(a, v); o.drop = 1; continue; }
    if (!strcmp(a, "--gid")) { o.gid = (gid_t)num(a, v); o.drop = 1; continue; }
    if (!strcmp(a, "--cg-v1") || !strcmp(a, "--cg-v2")) {
      if (o.ncg == MAX_CG) die("too many cgroups");
      struct cgroup *c = &o.cg[o.ncg++];
      snprintf(c->dir, sizeof c->dir, "%s", v); /* the parent for now; the run's name is added later */
      c->v2 = a[6] == '2';
      c->cpu_fd = -1;
      continue;
    }
    if (!strcmp(a, "--rfd") || !strcmp(a, "--dfd")) {
      if (o.nfds == MAX_FDS) die("too many fds");
      char *eq = strchr(v, '=');
      if (!eq) die("%s expects N=PATH", a);
      *eq = 0;
      int target = (int)num(a, v);
      if (target < 3 || target > 64) die("%s: fd %d must be between 3 and 64", a, target);
      int fd = a[2] == 'r' ? open(eq + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                           : open(eq + 1, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) die("cannot open %s: %s", eq + 1, strerror(errno));
      o.fds[o.nfds++] = (struct fdspec){target, fd};
      continue;
    }
    if (!strcmp(a, "--status-pipe") || !strcmp(a, "--init-pipe")) {
      int p[2];
      int target = (int)num(a, v);
      if (pipe2(p, O_CLOEXEC)) die("pipe: %s", strerror(errno));
      if (o.nfds == MAX_FDS) die("too many fds");
      *(a[2] == 's' ? &o.status_read : &o.init_read) = p[0];
      fcntl(p[0], F_SETFL, O_NONBLOCK);
      o.fds[o.nfds++] = (struct fdspec){target, p[1]};
      continue;
    }
    if (!strcmp(a, "--env")) {
      if (o.nenv == MAX_ENV) die("too many --env");
      o.env[o.nenv++] = (char *)v;
      continue;
    }
    die("unknown option: %s", a);
  }
  if (!need_program) return;
  if (i >= argc) die("no program given (expected -- PROGRAM ARGS...)");
  o.argv = argv + i;
}

/* ---------- cgroups ---------- */

/* Creates this run's groups (a served run does it before its request arrives). Returns NULL or why not. */
static const char *cg_create(void) {
  static char why[PATH_MAX + 64];
  char name[64];
  if (o.cg_name) snprintf(name, sizeof name, "%s", o.cg_name);
  else snprintf(name, sizeof name, "sluice-%d", (int)getpid());
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    snprintf(c->parent, sizeof c->parent, "%s", c->dir);
    if ((size_t)snprintf(c->dir, sizeof c->dir, "%s/%s", c->parent, name) >= sizeof c->dir) return "cgroup path too long";
    if (mkdir(c->dir, 0755) && errno != EEXIST) {
      snprintf(why, sizeof why, "cannot create cgroup %s: %s", c->dir, strerror(errno));
      o.ncg = i; /* only the ones made are removed */
      return why;
    }
    char probe[64];
    /* What this folder can do decides what it is used for. */
    if (c->v2) {
      c->kinds = CG_CPU;
      if (read_file(c->dir, "memory.max", probe, sizeof probe) >= 0) c->kinds |= CG_MEMORY;
      if (read_file(c->dir, "pids.max", probe, sizeof probe) >= 0) c->kinds |= CG_PIDS;
    } else {
      if (read_file(c->dir, "memory.limit_in_bytes", probe, sizeof probe) >= 0) c->kinds |= CG_MEMORY;
      if (read_file(c->dir, "pids.max", probe, sizeof probe) >= 0) c->kinds |= CG_PIDS;
      if (read_file(c->dir, "cpuacct.usage", probe, sizeof probe) >= 0) c->kinds |= CG_CPU;
    }
    if (c->kinds & CG_CPU) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", c->dir, c->v2 ? "cpu.stat" : "cpuacct.usage");
      c->cpu_fd = open(path, O_RDONLY | O_CLOEXEC);
    }
  }
  return NULL;
}

static void cg_limit(void) {
  char value[64];
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if ((c->kinds & CG_MEMORY) && o.mem_kb) {
      snprintf(value, sizeof value, "%lld", (o.mem_kb + o.slack_kb) * 1024);
      if (c->v2) {
        if (write_file(c->dir, "memory.max", value)) die("cannot set %s/memory.max: %s", c->dir, strerror(errno));
        write_file(c->dir, "memory.swap.max", "0");
      } else {
        if (write_file(c->dir, "memory.limit_in_bytes", value))
          die("cannot set %s/memory.limit_in_bytes: %s", c->dir, strerror(errno));
        write_file(c->dir, "memory.memsw.limit_in_bytes", value); /* no swapping around the limit, where accounted */
      }
    }
    if ((c->kinds & CG_PIDS) && o.procs) {
      snprintf(value, sizeof value, "%lld", o.procs + self_joined);
      if (write_file(c->dir, "pids.max", value)) die("cannot set %s/pids.max: %s", c->dir, strerror(errno));
    }
  }
}

static int cg_has(int kind) {
  for (int i = 0; i < o.ncg; i++)
    if (o.cg[i].kinds & kind) return 1;
  return 0;
}

static long long self_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cg_cpu_raw(void);

/* CPU time of the run's cgroup in ns (without this supervisor's own), or -1. */
static long long cg_cpu_ns(void) {
  long long ns = cg_cpu_raw();
  if (ns >= 0 && self_joined) ns -= self_cpu_ns() - self_cpu_base;
  return ns;
}

static long long cg_cpu_raw(void) {
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if (c->cpu_fd < 0) continue;
    char buf[512];
    ssize_t n = pread(c->cpu_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) continue;
    buf[n] = 0;
    if (!c->v2) return atoll(buf);
    long long us = field(buf, "usage_usec");
    if (us >= 0) return us * 1000;
  }
  return -1;
}

/* Kills every process in the run's cgroups; returns how many were found. */
static int cg_kill(void) {
  int found = 0;
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if (c->v2 && !self_joined) write_file(c->dir, "cgroup.kill", "1");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", c->dir);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
      if (pid == getpid()) continue;
      kill(pid, SIGKILL);
      found++;
    }
    fclose(f);
  }
  return found;
}

/* Moves this process into the run's groups (see self_joined). Returns NULL or why not. */
static const char *cg_join_self(void) {
  static char why[PATH_MAX + 64];
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if (!c->kinds) continue;
    if (write_file(c->dir, "cgroup.procs", "0")) {
      snprintf(why, sizeof why, "cannot join cgroup %s: %s", c->dir, strerror(errno));
      return why;
    }
  }
  /* Never the OOM killer's choice inside the run's memory group; the child resets it. */
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "-1000", 5) < 0) { /* not root: the supervisor is tiny anyway */ }
    close(fd);
  }
  self_joined = 1;
  self_cpu_base = self_cpu_ns();
  return NULL;
}

/* Moves this process back to the parent groups, so that its own can be removed. */
static void cg_leave(void) {
  for (int i = 0; i < o.ncg && self_joined; i++)
    if (o.cg[i].kinds) write_file(o.cg[i].parent, "cgroup.procs", "0");
  self_joined = 0;
}

static void cg_remove(void) {
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if (c->cpu_fd >= 0) close(c->cpu_fd);
    /* The last task may still be leaving the group right after it was reaped. */
    for (int tries = 0; tries < 200 && rmdir(c->dir) && errno == EBUSY; tries++) {
      cg_kill();
      usleep(500);
    }
  }
}

/* ---------- the process tree ---------- */

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
static int read_stat(int pid, long long *f, int nf) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  for (int i = 0; i < nf; i++) f[i] = 0;
  int idx = 3;
  for (char *tok = strtok(p + 2, " "); tok && idx < nf; tok = strtok(NULL, " "), idx++) f[idx] = atoll(tok);
  return 0;
}

/* Sums utime+stime+cutime+cstime (ms) and finds the largest RSS (kB) over the live tree. */
static void tree_usage(long long *cpu_ms, long long *max_rss_kb) {
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
static void kill_deeper(int depth) {
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

static void kill_all(pid_t child, int child_alive) {
  if (child_alive) {
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
  }
  cg_kill();
  int pids[4096];
  int n = descendants(pids, 4096);
  for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
}

/* ---------- the sandbox's own processes ---------- */

/* With --spare-depth, our child is bwrap's monitor and its child the sandbox's pid 1 (bwrap's
   set-up, then sluice-init): their own CPU (exec, namespace and mount setup: ~3.5 ms here) is not
   the program's, so it is measured from /proc/PID/schedstat (ns) while they live and as zombies,
   and subtracted, but never more than SANDBOX_CPU_CAP: a program that could make them burn CPU
   must not get that CPU for free. */
#define SANDBOX_CPU_CAP_NS 10000000LL
static struct {
  pid_t pid;
  long long ns;
} sbx[2];
static char init_text[64]; /* what sluice-init wrote: "S\n", then "W<status>\n" */
static size_t init_len;
static int sandbox_protected;
static char status_text[512]; /* small: keeps the report under PIPE_BUF for the served mode's relay */
static size_t status_len;

/* Appends what a non-blocking pipe holds to buf (NUL-terminated, at most size - 1 bytes kept). */
static void drain(int fd, char *buf, size_t size, size_t *len) {
  ssize_t n;
  while (*len < size - 1 && (n = read(fd, buf + *len, size - 1 - *len)) > 0) *len += (size_t)n;
  buf[*len] = 0;
}

static void read_status(void) {
  if (o.status_read < 0) return;
  drain(o.status_read, status_text, sizeof status_text, &status_len);
  if (!sbx[1].pid) {
    char *p = strstr(status_text, "\"child-pid\":");
    if (p) sbx[1].pid = atoi(p + 12);
  }
}

static long long runtime_ns(pid_t pid) {
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return atoll(buf);
}

static long long sandbox_ns(void) {
  if (!o.spare_depth) return 0;
  read_status();
  for (int i = 0; i < 2; i++) {
    if (!sbx[i].pid) continue;
    long long ns = runtime_ns(sbx[i].pid);
    if (ns > sbx[i].ns) sbx[i].ns = ns;
  }
  long long ns = sbx[0].ns + sbx[1].ns;
  return ns < SANDBOX_CPU_CAP_NS ? ns : SANDBOX_CPU_CAP_NS;
}

/* Reads sluice-init's pipe. Once the program is forked (with oom_score_adj 1000, see child()), bwrap's
   monitor and the init get -1000, so that an OOM kill hits the program's processes, not the sandbox
   (which would otherwise look like a failed start). -1000 needs CAP_SYS_RESOURCE; without it, 0:
   below the program's processes, though no longer out of reach once they are all gone. */
static void read_init(void) {
  if (o.init_read < 0) return;
  drain(o.init_read, init_text, sizeof init_text, &init_len);
  if (sandbox_protected || init_text[0] != 'S') return;
  read_status();
  sandbox_protected = 1;
  for (int i = 0; i < 2; i++) {
    if (!sbx[i].pid) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)sbx[i].pid);
    if (write_file(path, "oom_score_adj", "-1000")) write_file(path, "oom_score_adj", "0");
  }
}

/* The program's wait status as sluice-init reported it, or -1. */
static int program_status(void) {
  read_init();
  char *w = strstr(init_text, "\nW");
  return w ? atoi(w + 2) : -1;
}

/* Reaps every child that has ended, noting the sandbox processes' CPU while they are zombies. */
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

/* ---------- the child ---------- */

static void child_fail(int errfd, const char *what, const char *arg) {
  char msg[600];
  int len = snprintf(msg, sizeof msg, "%s %s: %s", what, arg, strerror(errno));
  if (write(errfd, msg, (size_t)len) < 0) { /* the parent sees an empty message */ }
  _exit(127);
}

static void set_limit(int errfd, int resource, const char *name, rlim_t soft, rlim_t hard) {
  struct rlimit rl = {soft, hard};
  if (setrlimit(resource, &rl)) child_fail(errfd, "cannot set", name);
}

/* Tasks (threads count: RLIMIT_NPROC counts tasks) of this real uid, from /proc/PID/stat's num_threads. */
static int count_own_tasks(void) {
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

static void child(int errfd, int in_fd, int out_fd, int err_fd, pid_t parent) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Ignored signals survive exec (Node ignores SIGPIPE; the server too); handlers do not. */
  static const int reset[] = {SIGPIPE, SIGXFSZ, SIGXCPU, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                              SIGALRM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH};
  for (unsigned i = 0; i < sizeof reset / sizeof *reset; i++) signal(reset[i], SIG_DFL);
  setpgid(0, 0);

  for (int i = 0; i < o.ncg && !self_joined; i++) {
    struct cgroup *c = &o.cg[i];
    if (!c->kinds) continue;
    if (write_file(c->dir, "cgroup.procs", "0")) child_fail(errfd, "cannot join cgroup", c->dir);
  }
  /* A sandboxed program is the OOM killer's first choice in its group (its processes inherit 1000;
     raising needs no privilege); read_init lowers bwrap and sluice-init again once it is forked. */
  const char *adj = o.spare_depth ? "1000" : self_joined ? "0" : NULL;
  if (adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, adj, strlen(adj)) < 0) child_fail(errfd, "cannot set", "oom_score_adj");
    if (fd >= 0) close(fd);
  }

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

  if (in_fd >= 0 && dup2(in_fd, 0) < 0) child_fail(errfd, "dup2", "stdin");
  if (out_fd >= 0 && dup2(out_fd, 1) < 0) child_fail(errfd, "dup2", "stdout");
  if (o.stderr_to_stdout) {
    if (dup2(1, 2) < 0) child_fail(errfd, "dup2", "stderr");
  } else if (err_fd >= 0 && dup2(err_fd, 2) < 0) child_fail(errfd, "dup2", "stderr");

  /* Extra fds: first moved above every target, then placed, so no target overwrites a source. */
  for (int i = 0; i < o.nfds; i++) {
    int fd = fcntl(o.fds[i].fd, F_DUPFD_CLOEXEC, 100);
    if (fd < 0) child_fail(errfd, "fcntl", "F_DUPFD");
    o.fds[i].fd = fd;
  }
  for (int i = 0; i < o.nfds; i++)
    if (dup2(o.fds[i].fd, o.fds[i].target) < 0) child_fail(errfd, "dup2", "extra fd");
  /* Everything else is closed at exec (our own fds are O_CLOEXEC); strays inherited from the caller are
     marked so too, between the fds the program gets (close_range, Linux 5.11; else one by one). */
  int keep[MAX_FDS + 2], nkeep = 0;
  keep[nkeep++] = errfd;
  for (int i = 0; i < o.nfds; i++) keep[nkeep++] = o.fds[i].target;
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
    if (i < nkeep) lo = (unsigned)keep[i] + 1;
  }

  if (o.drop) {
    if (setgroups(0, NULL) && errno != EPERM) child_fail(errfd, "setgroups", "");
    if (setresgid(o.gid, o.gid, o.gid)) child_fail(errfd, "cannot switch to gid", "");
    if (setresuid(o.uid, o.uid, o.uid)) child_fail(errfd, "cannot switch to uid", "");
  }
  /* After the uid change, which clears it: the program dies with this helper. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  if (o.chdir_to && chdir(o.chdir_to)) child_fail(errfd, "cannot chdir to", o.chdir_to);
  execve(o.argv[0], o.argv, o.env);
  child_fail(errfd, "cannot execute", o.argv[0]);
}

/* ---------- the run's disk ---------- */

/* What the program may write beyond --disk-limit before ENOSPC, so that going over is seen. */
#define DISK_MARGIN (1LL << 20)

static int disk_fd = -1;
static long long disk_free_at_start, disk_peak;

static long long disk_free(struct statfs *st) {
  return fstatfs(disk_fd, st) ? -1 : (long long)st->f_bavail * (long long)st->f_bsize;
}

/* The file system is larger than the limit (files were put there before the run, and its size comes
   in steps); a root-owned ballast outside box/ and tmp/ takes the rest, so what the program can add
   is exactly limit + DISK_MARGIN, however fast it writes or reserves (fallocate). */
static void disk_prepare(void) {
  disk_fd = open(o.disk_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (disk_fd < 0) die("cannot open the run's disk %s: %s", o.disk_dir, strerror(errno));
  int ballast = openat(disk_fd, ".ballast", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat bst;
  struct statfs st;
  if (ballast < 0 || fstat(ballast, &bst)) die("cannot make the disk's ballast in %s: %s", o.disk_dir, strerror(errno));
  long long want = o.disk_limit + DISK_MARGIN, size = (long long)bst.st_blocks * 512 + disk_free(&st) - want;
  if (size < 0)
    die("the run's disk has %lld bytes free for a limit of %lld: the files put in the box take too much room",
        disk_free(&st), o.disk_limit);
  if (size < bst.st_size ? ftruncate(ballast, size) : fallocate(ballast, 0, 0, size))
    die("cannot size the disk's ballast: %s", strerror(errno));
  close(ballast);
  disk_free_at_start = disk_free(&st);
}

/* Bytes the program added (kept at its peak); out of inodes counts as over the limit. */
static int disk_over(void) {
  struct statfs st;
  long long free_now = disk_free(&st);
  if (free_now < 0) return 0;
  if (disk_free_at_start - free_now > disk_peak) disk_peak = disk_free_at_start - free_now;
  return disk_peak > o.disk_limit || (st.f_files && !st.f_ffree);
}

/* ---------- the parent ---------- */

static int open_out(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die("cannot open %s: %s", path, strerror(errno));
  return fd;
}

static long long out_size(int fd) {
  struct stat st;
  return fd >= 0 && !fstat(fd, &st) ? (long long)st.st_size : 0;
}

static void defaults(void) {
  o.status_read = -1;
  o.init_read = -1;
}

static int run_body(const char *cg_error);

static int run_one(int argc, char **argv) {
  defaults();
  parse(argc, argv, 1);
  return run_body(cg_create());
}

static int run_body(const char *cg_error) {
  if (cg_error) die("%s", cg_error);
  o.env[o.nenv] = NULL;

  int in_fd = -1, out_fd = -1, err_fd = -1;
  if (o.stdin_path) {
    in_fd = open(o.stdin_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in_fd < 0) die("cannot open %s: %s", o.stdin_path, strerror(errno));
  }
  if (o.stdout_path) out_fd = open_out(o.stdout_path);
  if (o.stderr_path) {
    err_fd = !strcmp(o.stderr_path, "/dev/null") ? open("/dev/null", O_WRONLY | O_CLOEXEC) : open_out(o.stderr_path);
    if (err_fd < 0) die("cannot open %s: %s", o.stderr_path, strerror(errno));
  }

  if (prctl(PR_SET_CHILD_SUBREAPER, 1)) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  cg_limit();
  if (o.disk_dir) disk_prepare();

  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (o.init_read >= 0) {
    /* sluice-init's "S" wakes us at once: the sooner the sandbox is protected from the OOM killer. */
    sigaddset(&mask, SIGIO);
    fcntl(o.init_read, F_SETOWN, getpid());
    fcntl(o.init_read, F_SETFL, O_NONBLOCK | O_ASYNC);
  }
  sigprocmask(SIG_BLOCK, &mask, &old);

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC)) die("pipe: %s", strerror(errno));
  pid_t parent = getpid();
  long long start = now_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    close(errpipe[0]);
    if (o.status_read >= 0) close(o.status_read);
    child(errpipe[1], in_fd, out_fd, err_fd, parent);
  }
  close(errpipe[1]);
  for (int i = 0; i < o.nfds; i++) close(o.fds[i].fd);
  if (in_fd >= 0) close(in_fd);
  if (err_fd >= 0) close(err_fd);

  /* Blocks until the child has exec'd (EOF thanks to O_CLOEXEC) or failed (a message). */
  ssize_t elen;
  while ((elen = read(errpipe[0], errbuf, sizeof errbuf - 1)) < 0 && errno == EINTR) {}
  close(errpipe[0]);
  if (elen > 0) errbuf[elen] = 0;

  int status = 0, child_alive = 1;
  const char *killed_by = NULL;
  long long poll_cpu = 0 /* ns */, poll_rss = 0;
  int use_cg_cpu = cg_has(CG_CPU);
  sbx[0].pid = pid;
  while (child_alive) {
    reap(pid, &status, &child_alive);
    if (!child_alive || elen > 0) break;
    long long elapsed = now_ns() - start;
    if (o.wall_ms && elapsed >= o.wall_ms * 1000000LL) { killed_by = "wall"; break; }
    /* In ns throughout: the program's CPU = the group's (or the tree's) minus the sandbox's own. */
    long long raw_ns = -1, tree_cpu = -1;
    if (o.poll_rss || (o.cpu_ms && !use_cg_cpu)) tree_usage(&tree_cpu, &poll_rss);
    if (o.cpu_ms && use_cg_cpu) raw_ns = cg_cpu_ns();
    else if (tree_cpu >= 0) raw_ns = tree_cpu * 1000000LL;
    if (raw_ns > poll_cpu) poll_cpu = raw_ns;
    long long prog_ns = raw_ns >= 0 ? raw_ns - sandbox_ns() : -1;
    if (o.cpu_ms && prog_ns >= o.cpu_ms * 1000000LL) { killed_by = "cpu"; break; }
    if (o.poll_rss && o.mem_kb && poll_rss > o.mem_kb) { killed_by = "memory"; break; }
    if (o.output_limit && out_size(out_fd) > o.output_limit) { killed_by = "output"; break; }
    if (disk_fd >= 0 && disk_over()) { killed_by = "disk"; break; }
    read_init();
    /* Sleep until a child changes state, a signal arrives, or the next check is due. */
    long long wait_ns = POLL_NS;
    if (o.cpu_ms && prog_ns >= 0 && o.cpu_ms * 1000000LL - prog_ns < 2 * POLL_NS) wait_ns = POLL_NS / 5;
    if (o.wall_ms) {
      long long left = o.wall_ms * 1000000LL - (now_ns() - start);
      if (left < wait_ns) wait_ns = left > 100000 ? left : 100000;
    }
    struct timespec ts = {wait_ns / 1000000000LL, wait_ns % 1000000000LL};
    siginfo_t si;
    int sig = sigtimedwait(&mask, &si, &ts);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) { killed_by = "terminated"; break; }
  }
  long long wall_end = now_ns();

  /* Kill and reap every descendant: orphans re-parent to us (subreaper), so none can hide. When a
     limit stopped the run, the program goes first: killing bwrap's pid 1 would make the kernel
     reap the program without accounting (a dying pid namespace ignores SIGCHLD). */
  long long gentle_until = killed_by && o.spare_depth ? now_ns() + 200000000LL : 0;
  for (int rounds = 0;; rounds++) {
    if (child_alive && now_ns() < gentle_until) kill_deeper(o.spare_depth - 1);
    else kill_all(pid, child_alive);
    reap(pid, &status, &child_alive);
    if (waitid(P_ALL, 0, &(siginfo_t){0}, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 && errno == ECHILD) break;
    struct timespec ts = {0, rounds < 100 ? 1000000L : 10000000L};
    siginfo_t si;
    sigtimedwait(&mask, &si, &ts);
  }

  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  long long user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
  long long sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;

  long long cg_cpu = cg_cpu_ns(), cg_peak_kb = -1, oom_kill = -1;
  char buf[4096];
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if (!(c->kinds & CG_MEMORY)) continue;
    if (c->v2) {
      if (read_file(c->dir, "memory.peak", buf, sizeof buf) > 0) cg_peak_kb = atoll(buf) / 1024;
      if (read_file(c->dir, "memory.events", buf, sizeof buf) > 0) oom_kill = field(buf, "oom_kill");
    } else {
      if (read_file(c->dir, "memory.max_usage_in_bytes", buf, sizeof buf) > 0) cg_peak_kb = atoll(buf) / 1024;
      if (read_file(c->dir, "memory.oom_control", buf, sizeof buf) > 0) oom_kill = field(buf, "oom_kill");
    }
  }

  read_status();
  long long sandbox = sandbox_ns();
  int prog_status = program_status();
  if (disk_fd >= 0) disk_over();

  char *out = NULL;
  size_t outlen = 0;
  FILE *f = open_memstream(&out, &outlen);
  if (!f) die("out of memory");
  fputs(report_prefix, f);
  if (elen > 0) {
    fputs("\"error\":", f);
    json_str(f, errbuf);
    fputs(",", f);
  }
  if (WIFSIGNALED(status)) fprintf(f, "\"signal\":%d,", WTERMSIG(status));
  else fprintf(f, "\"exit_code\":%d,", WEXITSTATUS(status));
  if (prog_status >= 0 && WIFSIGNALED(prog_status)) fprintf(f, "\"program_signal\":%d,", WTERMSIG(prog_status));
  else if (prog_status >= 0) fprintf(f, "\"program_exit_code\":%d,", WEXITSTATUS(prog_status));
  double cpu = (user_us + sys_us) / 1000.0;
  if (cg_cpu >= 0 && cg_cpu / 1e6 > cpu) cpu = cg_cpu / 1e6;
  if (poll_cpu / 1e6 > cpu) cpu = poll_cpu / 1e6;
  cpu = cpu > sandbox / 1e6 ? cpu - sandbox / 1e6 : 0;
  fprintf(f, "\"cpu_ms\":%.3f,\"user_ms\":%.3f,\"sys_ms\":%.3f,\"wall_ms\":%.3f,\"max_rss_kb\":%ld", cpu,
          user_us / 1000.0, sys_us / 1000.0, (wall_end - start) / 1e6, ru.ru_maxrss);
  if (poll_rss) fprintf(f, ",\"polled_rss_kb\":%lld", poll_rss);
  if (o.spare_depth) fprintf(f, ",\"sandbox_cpu_ms\":%.3f", sandbox / 1e6);
  if (cg_cpu >= 0) fprintf(f, ",\"cg_cpu_ms\":%.3f", cg_cpu / 1e6);
  if (cg_peak_kb >= 0) fprintf(f, ",\"cg_peak_kb\":%lld", cg_peak_kb);
  if (oom_kill >= 0) fprintf(f, ",\"oom_kill\":%lld", oom_kill);
  if (out_fd >= 0) fprintf(f, ",\"output_bytes\":%lld", out_size(out_fd));
  if (disk_fd >= 0) fprintf(f, ",\"disk_bytes\":%lld", disk_peak);
  if (killed_by) {
    fputs(",\"killed_by\":", f);
    json_str(f, killed_by);
  }
  if (o.status_read >= 0) {
    fputs(",\"status_text\":", f);
    json_str(f, status_text);
  }
  fputs("}\n", f);
  fclose(f);
  int rc = write(report_fd, out, outlen) < 0 ? 70 : 0;
  /* After the report: removing memory cgroups takes a while and nobody needs to wait for it.
     A supervisor inside its groups cannot remove them: its server does, once it has exited. */
  if (!self_joined) cg_remove();
  return rc;
}

/* ---------- disks: each run's own bounded file system ---------- */

/*
 * A box lives on a file system of its own: a copy of a small ext4 template (sparse: a few hundred
 * KiB of data), loop-mounted where the host can still read it after the run, unmounted as a whole
 * afterwards. It bounds what a run can put on the host's disk (exactly, with the ballast of
 * disk_prepare), and its pages are ordinary page cache, not tmpfs pages charged to the program's
 * memory cgroup. The image file is unlinked as soon as the loop device holds it, so a killed
 * helper leaves no file behind, only a mount that the next probe sweeps (its name holds the
 * owner's pid). Mounting takes ~1.5 ms and unmounting ~2 ms here (both wait for RCU grace
 * periods), so the server keeps one disk ready and does both in children, off a request's path.
 * Why this and what it costs: docs/sandbox.md, "Disk".
 */
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

static int write_all(int fd, const char *buf, size_t len);

/* Copies the data extents of a sparse file; returns NULL or why not. */
static const char *copy_sparse(int from, int to) {
  static char buf[1 << 16];
  struct stat st;
  if (fstat(from, &st) || ftruncate(to, st.st_size)) return strerror(errno);
  for (off_t pos = 0;;) {
    off_t data = lseek(from, pos, SEEK_DATA);
    if (data < 0) return errno == ENXIO ? NULL : strerror(errno);
    off_t hole = lseek(from, data, SEEK_HOLE);
    if (hole < 0) return strerror(errno);
    for (off_t at = data; at < hole;) {
      size_t want = hole - at < (off_t)sizeof buf ? (size_t)(hole - at) : sizeof buf;
      ssize_t n = pread(from, buf, want, at);
      if (n <= 0) return n ? strerror(errno) : "the template ended early";
      if (pwrite(to, buf, (size_t)n, at) != n) return strerror(errno);
      at += n;
    }
    pos = hole;
  }
}

/* A free loop device backed by `img`, detached by the kernel when its last user goes. */
static int loop_attach(int img, char *dev, size_t size, const char **why) {
  static char msg[128];
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) return snprintf(msg, sizeof msg, "cannot open /dev/loop-control: %s", strerror(errno)), *why = msg, -1;
  /* Buffered, not LO_FLAGS_DIRECT_IO: the image's pages stay in the page cache and die with the
     unlinked file, so a short run causes no I/O on the host's disk at all (direct I/O would write
     every block the box touches, and flush the copied template before the first read). */
  unsigned flags = LO_FLAGS_AUTOCLEAR;
  for (int tries = 0; tries < 64; tries++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) break;
    snprintf(dev, size, "/dev/loop%d", n);
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) { /* its node is not there yet */
      usleep(500);
      continue;
    }
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (unsigned)img;
    config.info.lo_flags = flags;
    if (!ioctl(fd, LOOP_CONFIGURE, &config)) {
      close(ctl);
      return fd;
    }
    int err = errno;
    close(fd);
    if (err != EBUSY) { /* EBUSY: another process took it first */
      snprintf(msg, sizeof msg, "cannot set up %s: %s", dev, strerror(err));
      close(ctl);
      return *why = msg, -1;
    }
  }
  snprintf(msg, sizeof msg, "no free loop device: %s", strerror(errno));
  close(ctl);
  return *why = msg, -1;
}

/* Mounts a copy of `template` on a new folder `mnt`, with box/ and tmp/ owned by `uid`. Dies with the reason. */
static void disk_attach(const char *mnt, const char *template, const char *backing, uid_t uid) {
  int from = open(template, O_RDONLY | O_CLOEXEC);
  if (from < 0) die("cannot open the disk template %s: %s", template, strerror(errno));
  if (mkdir(mnt, 0700)) die("cannot create %s: %s", mnt, strerror(errno));
  int img = open(backing, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  const char *why = img < 0 ? strerror(errno) : copy_sparse(from, img);
  close(from);
  char dev[32];
  int loop = why ? -1 : loop_attach(img, dev, sizeof dev, &why);
  unlink(backing); /* the loop device holds it now; its space comes back when the device goes */
  if (img >= 0) close(img);
  /* discard: what the program deletes is punched out of the image, so that the image never holds more
     than the disk holds now (without it, writing and deleting 150 MiB three times left 375 MiB). */
  int failed = why ? 0 : mount(dev, mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "noinit_itable,discard") ? errno : 0;
  if (loop >= 0) close(loop); /* LO_FLAGS_AUTOCLEAR: the device goes with the mount, or now if there is none */
  if (failed) why = strerror(failed);
  int root = why ? -1 : open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int ok = root >= 0 && !fchmod(root, 0711);
  for (const char *const *name = (const char *const[]){"box", "tmp", NULL}; ok && *name; name++)
    ok = !mkdirat(root, *name, 0700) && !fchownat(root, *name, uid, uid, AT_SYMLINK_NOFOLLOW);
  if (!why && !ok) why = strerror(errno);
  if (root >= 0) close(root);
  if (!why) return;
  umount2(mnt, MNT_DETACH);
  rmdir(mnt);
  die("cannot make a disk on %s: %s", mnt, why);
}

/* Lazy: the mount is gone from the tree at once; the file system, its loop device and its image
   go when the last reference (a sandbox's mount namespace being torn down) is gone. */
static void disk_detach(const char *mnt) {
  if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) && errno != EINVAL) die("cannot unmount %s: %s", mnt, strerror(errno));
  rmdir(mnt);
}

/* The server's own descriptors, which its helper children must not hold: above all the spare's
   request pipe, whose end the spare waits for before it runs. */
static int server_fds[2] = {-1, -1};

static pid_t server_fork(int devnull) {
  pid_t pid = fork();
  if (pid) return pid;
  for (int i = 0; i < 2; i++)
    if (server_fds[i] >= 0) close(server_fds[i]);
  dup2(devnull, 0);
  dup2(devnull, 1);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  return 0;
}

/* The served helper's ready disk: one, for the template asked for last. */
static struct {
  char template[PATH_MAX], path[PATH_MAX];
  uid_t uid;
  pid_t preparing;
  int ready;
} pool;
static unsigned long disks_made;

/* Names a new disk next to its template: disk-OWNER-SERVER.N (the owner is the server's caller),
   and its image run-OWNER-SERVER.N.img (the probe's sweep reads OWNER back). */
static void disk_names(const char *template, char *mnt, char *backing) {
  const char *slash = strrchr(template, '/');
  int home = slash ? (int)(slash - template) : 0;
  unsigned long n = ++disks_made;
  snprintf(mnt, PATH_MAX, "%.*s/disk-%d-%d.%lu", home, template, (int)getppid(), (int)getpid(), n);
  snprintf(backing, PATH_MAX, "%.*s/run-%d-%d.%lu.img", home, template, (int)getppid(), (int)getpid(), n);
}

/* Writes {<prefix> "disk": VALUE} or {<prefix> "error": VALUE} on `report`, in one write. */
static int disk_reply(int report, const char *key, const char *value) {
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&line, &len);
  if (!f) return -1;
  fprintf(f, "%s\"%s\":", report_prefix, key);
  json_str(f, value);
  fputs("}\n", f);
  fclose(f);
  int rc = write_all(report, line, len);
  free(line);
  return rc;
}

/* The name of a disk's folder next to its template: what a take answers (ASCII, unlike the path). */
static const char *disk_name(const char *mnt) {
  const char *slash = strrchr(mnt, '/');
  return slash ? slash + 1 : mnt;
}

/* Forks a child that makes a disk; it reports {"disk": NAME} when `report` >= 0. */
static pid_t disk_fork(const char *template, uid_t uid, char *mnt, int report, int devnull) {
  char backing[PATH_MAX];
  disk_names(template, mnt, backing);
  pid_t pid = server_fork(devnull);
  if (pid) return pid;
  report_fd = report >= 0 ? report : devnull;
  disk_attach(mnt, template, backing, uid);
  _exit(report >= 0 && disk_reply(report, "disk", disk_name(mnt)) ? 70 : 0);
}

/* Starts making the next ready disk, unless one is ready or on its way. */
static void pool_refill(const char *template, uid_t uid, int devnull) {
  if (pool.preparing || (pool.ready && !strcmp(pool.template, template))) return;
  if (pool.ready) { /* for another template: not wanted any more */
    if (!server_fork(devnull)) {
      disk_detach(pool.path);
      _exit(0);
    }
    pool.ready = 0;
  }
  snprintf(pool.template, sizeof pool.template, "%s", template);
  pool.uid = uid;
  pool.preparing = disk_fork(template, uid, pool.path, -1, devnull);
  if (pool.preparing < 0) pool.preparing = 0;
}

/*
 * A served disk request (argv[0] is the request's id): "--disk-take TEMPLATE UID" answers
 * {"disk": NAME} with a disk mounted next to the template (the ready one at once, else a child
 * makes one) and refills the pool; "--disk-detach PATH" answers at once and unmounts in a child.
 * Returns the pid of a child that will report, 0 when answered here, -1 on a bad request.
 */
static pid_t disk_request(int argc, char **argv, int report, int devnull) {
  if (argc == 4 && !strcmp(argv[1], "--disk-take")) {
    uid_t uid = (uid_t)atoll(argv[3]);
    pid_t child = 0;
    if (pool.ready && !strcmp(pool.template, argv[2])) {
      char why[PATH_MAX + 64] = "";
      for (const char *const *name = (const char *const[]){"box", "tmp", NULL}; *name && pool.uid != uid && !*why; name++) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/%s", pool.path, *name);
        if (lchown(path, uid, uid)) snprintf(why, sizeof why, "cannot give %s to uid %d: %s", path, (int)uid, strerror(errno));
      }
      pool.ready = 0;
      disk_reply(report, *why ? "error" : "disk", *why ? why : disk_name(pool.path));
      if (*why && !server_fork(devnull)) {
        disk_detach(pool.path);
        _exit(0);
      }
    } else {
      char mnt[PATH_MAX];
      child = disk_fork(argv[2], uid, mnt, report, devnull);
    }
    pool_refill(argv[2], uid, devnull);
    return child;
  }
  if (argc == 3 && !strcmp(argv[1], "--disk-detach")) {
    char line[256];
    int len = snprintf(line, sizeof line, "%s\"disk\":\"detached\"}\n", report_prefix);
    write_all(report, line, (size_t)len);
    if (!server_fork(devnull)) {
      disk_detach(argv[2]);
      _exit(0);
    }
    return 0;
  }
  return -1;
}

/* ---------- removing what a program left ---------- */

#define REMOVE_DEPTH 64

__attribute__((noreturn)) static void remove_failed(const char *path, const char *name) {
  fprintf(stderr, "sluice-run: cannot remove %s (at %s): %s\n", path, name, strerror(errno));
  exit(1);
}

/*
 * Removes PATH and everything below it, as a program may have left it: deeper than PATH_MAX,
 * symlinks anywhere, folders without permissions. One folder at a time through descriptors
 * (openat, unlinkat; O_NOFOLLOW, so a symlink is removed, never followed); at most REMOVE_DEPTH
 * folders open, deeper ones are moved up to PATH's own level and removed from there; another file
 * system below PATH (a box's disk still mounted) is an error, never emptied.
 */
static int remove_tree(const char *path) {
  const char *slash = strrchr(path, '/');
  if (path[0] != '/' || !slash[1]) {
    fprintf(stderr, "sluice-run: --remove needs an absolute path, got %s\n", path);
    return 2;
  }
  char parent_path[PATH_MAX];
  snprintf(parent_path, sizeof parent_path, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  int parent = open(parent_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) remove_failed(path, parent_path);
  static DIR *dirs[REMOVE_DEPTH];
  static char names[REMOVE_DEPTH][NAME_MAX + 1];
  snprintf(names[0], sizeof names[0], "%s", slash + 1);
  int top = openat(parent, names[0], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0 && errno == ENOENT) return 0;
  if (top < 0 && (errno == ENOTDIR || errno == ELOOP)) {
    if (unlinkat(parent, names[0], 0)) remove_failed(path, names[0]);
    return 0;
  }
  struct stat st;
  if (top < 0 || fstat(top, &st) || !(dirs[0] = fdopendir(top))) remove_failed(path, names[0]);
  dev_t dev = st.st_dev;
  unsigned long moved = 0;
  int depth = 1, rescan = 0;
  while (depth) {
    DIR *d = dirs[depth - 1];
    int fd = dirfd(d);
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno) remove_failed(path, names[depth - 1]);
      if (depth == 1 && rescan) { /* folders moved up while it was read */
        rescan = 0;
        rewinddir(d);
        continue;
      }
      closedir(d);
      depth--;
      if (unlinkat(depth ? dirfd(dirs[depth - 1]) : parent, names[depth], AT_REMOVEDIR)) remove_failed(path, names[depth]);
      continue;
    }
    const char *name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    if (!unlinkat(fd, name, 0) || errno == ENOENT) continue;
    if (errno == EACCES && !fchmod(fd, 0700) && (!unlinkat(fd, name, 0) || errno == ENOENT)) continue;
    if (errno != EISDIR) remove_failed(path, name);
    if (depth == REMOVE_DEPTH) {
      char up[64];
      int failed;
      do {
        snprintf(up, sizeof up, ".sluice-removing-%lu", moved++);
        failed = renameat2(fd, name, dirfd(dirs[0]), up, RENAME_NOREPLACE);
      } while (failed && errno == EEXIST);
      if (failed) remove_failed(path, name);
      rescan = 1;
      continue;
    }
    int child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0 && errno == EACCES && !fchmodat(fd, name, 0700, 0)) child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0 || fstat(child, &st)) remove_failed(path, name);
    if (st.st_dev != dev) {
      errno = EXDEV;
      remove_failed(path, name);
    }
    snprintf(names[depth], sizeof names[depth], "%s", name);
    if (!(dirs[depth] = fdopendir(child))) remove_failed(path, name);
    depth++;
  }
  return 0;
}

/* ---------- served mode ---------- */

/*
 * `sluice-run --serve [OPTIONS]`: one long-lived helper per Node process, so a run costs a fork of
 * this small process instead of a Node spawn plus an exec. OPTIONS (e.g. the cgroup parents) apply
 * to every run. Requests arrive on stdin as frames: a 4-byte little-endian length, then
 * NUL-terminated strings: the run's id, then the options and program as for a single run. A spare
 * supervisor is always forked in advance, its cgroups already made; a request goes to it and the
 * next spare is forked. stdout gets `{"id":ID,"pid":N}` when a run starts, its report (with "id"
 * first, written by the supervisor itself: one write under PIPE_BUF, which neither a pipe nor a
 * socketpair interleaves), and `{"id":ID,"exited":STATUS}` when its supervisor is gone (the caller
 * ignores it after a report). End of stdin ends the server; supervisors then get SIGTERM.
 */
#include <poll.h>
#include <sys/signalfd.h>

static int write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void sanitize_id(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src);
  for (char *c = dst; *c; c++)
    if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '_';
}

/* Splits a frame's body (NUL-terminated strings) into args (NULL-terminated); the id comes first, where
   argv[0] would be. Sets the report prefix from the id. Returns the count. */
static int frame_args(char *body, size_t len, char **args, int max) {
  int n = 0;
  for (size_t i = 0; i < len && n < max - 1; i += strlen(body + i) + 1) args[n++] = body + i;
  args[n] = NULL;
  char id[64];
  sanitize_id(id, sizeof id, n ? args[0] : "");
  snprintf(report_prefix, sizeof report_prefix, "{\"id\":\"%s\",", id);
  return n;
}

/* A spare supervisor: makes its cgroups, waits for one frame on `req`, runs it. */
static void spare(int req, int report, int devnull) {
  dup2(devnull, 0);
  dup2(devnull, 1); /* the run's own stdio must not be the server's pipes */
  report_fd = report;
  const char *cg_error = cg_create(); /* the server's options are already parsed into `o` */
  if (!cg_error) cg_error = cg_join_self();
  size_t cap = 1 << 16, have = 0;
  char *frame = malloc(cap + 1);
  if (!frame) _exit(70);
  ssize_t got;
  while (have < cap && (got = read(req, frame + have, cap - have)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    have += (size_t)got;
  }
  if (have <= 4) { /* the server went away before giving us a run: nobody else will clean up */
    cg_leave();
    cg_remove();
    _exit(0);
  }
  close(req);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  frame[have] = 0;
  char *args[512];
  int n = frame_args(frame + 4, have - 4, args, 512);
  parse(n, args, 1);
  exit(run_body(cg_error));
}

struct run_entry {
  pid_t pid;
  char id[64];
};

/* Groups of exited supervisors that could not be removed yet (a task still leaving them). */
static struct {
  pid_t pid;
  int tries;
} leftovers[64];
static int nleftovers;

/* Removes the groups a served supervisor made for itself (sluice-PID under each parent). */
static int remove_groups(pid_t pid) {
  int busy = 0;
  for (int i = 0; i < o.ncg; i++) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/sluice-%d", o.cg[i].dir, (int)pid);
    if (rmdir(dir) && errno == EBUSY) busy = 1;
  }
  return busy;
}

static void reaped(pid_t pid) {
  if (!remove_groups(pid) || nleftovers == 64) return;
  leftovers[nleftovers].pid = pid;
  leftovers[nleftovers].tries = 0;
  nleftovers++;
}

static void retry_leftovers(void) {
  for (int i = 0; i < nleftovers;) {
    if (!remove_groups(leftovers[i].pid) || ++leftovers[i].tries > 100) leftovers[i] = leftovers[--nleftovers];
    else i++;
  }
}

static int serve(int argc, char **argv) {
  struct run_entry *runs = NULL;
  int nruns = 0, cap_runs = 0;
  signal(SIGPIPE, SIG_IGN);
  int report = fcntl(1, F_DUPFD_CLOEXEC, 10);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  size_t cap = 1 << 16, have = 0;
  char *buf = malloc(cap);
  if (!buf || sfd < 0 || devnull < 0 || report < 0) die("cannot start the server");
  /* argv[1] is --serve: the options for every run are argv[2..] (parsed once, here; spares inherit them). */
  defaults();
  parse(argc - 1, argv + 1, 0);
  pid_t spare_pid = 0;
  int spare_fd = -1;

  for (;;) {
    if (!spare_pid) {
      int p[2];
      if (pipe2(p, O_CLOEXEC)) return 70;
      spare_pid = fork();
      if (spare_pid == 0) {
        close(p[1]);
        close(sfd);
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_DFL);
        spare(p[0], report, devnull);
      }
      close(p[0]);
      if (spare_pid < 0) {
        close(p[1]);
        spare_pid = 0;
      } else {
        spare_fd = p[1];
      }
      server_fds[0] = spare_fd;
      server_fds[1] = sfd;
    }
    if (spare_pid && have >= 4) {
      uint32_t flen = (uint32_t)(unsigned char)buf[0] | (uint32_t)(unsigned char)buf[1] << 8 |
                      (uint32_t)(unsigned char)buf[2] << 16 | (uint32_t)(unsigned char)buf[3] << 24;
      if (flen > cap - 4) return 70; /* a frame larger than 64 KiB: not ours */
      if (have >= 4 + flen) {
        char id[64], line[160];
        sanitize_id(id, sizeof id, buf + 4);
        size_t idlen = strnlen(buf + 4, flen);
        int disk = idlen + 8 < flen && !strncmp(buf + 4 + idlen + 1, "--disk-", 7);
        pid_t started = spare_pid;
        if (disk) { /* answered here, or by a child that will: never by the spare */
          char *args[8];
          started = disk_request(frame_args(buf + 4, flen, args, 8), args, report, devnull);
          snprintf(report_prefix, sizeof report_prefix, "{");
        }
        int ok = disk ? started >= 0 : !write_all(spare_fd, buf, 4 + flen);
        if (!disk) {
          close(spare_fd);
          server_fds[0] = -1;
          spare_pid = 0;
        }
        int len = ok ? snprintf(line, sizeof line, "{\"id\":\"%s\",\"pid\":%d}\n", id, (int)started)
                     : snprintf(line, sizeof line, "{\"id\":\"%s\",\"error\":\"%s\"}\n", id,
                                disk ? "a disk request the helper does not know" : "the supervisor is gone");
        if (disk && ok && !started) len = 0; /* answered already */
        if (ok && started) {
          if (nruns == cap_runs) {
            cap_runs = cap_runs ? 2 * cap_runs : 16;
            runs = realloc(runs, (size_t)cap_runs * sizeof *runs);
            if (!runs) return 70;
          }
          runs[nruns].pid = started;
          memcpy(runs[nruns].id, id, sizeof id);
          nruns++;
        }
        if (len && write_all(1, line, (size_t)len)) return 0;
        memmove(buf, buf + 4 + flen, have - 4 - flen);
        have -= 4 + flen;
        continue; /* fork the next spare, then look for the next frame */
      }
    }
    retry_leftovers();
    struct pollfd fds[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(fds, 2, nleftovers ? 20 : -1) < 0) {
      if (errno == EINTR) continue;
      return 70;
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        reaped(pid);
        if (pid == pool.preparing) {
          pool.preparing = 0;
          pool.ready = WIFEXITED(st) && !WEXITSTATUS(st);
        }
        if (pid == spare_pid) { /* died before its run: the next loop forks another */
          close(spare_fd);
          server_fds[0] = -1;
          spare_pid = 0;
        }
        for (int i = 0; i < nruns; i++) {
          if (runs[i].pid != pid) continue;
          char line[128];
          int len = snprintf(line, sizeof line, "{\"id\":\"%s\",\"exited\":%d}\n", runs[i].id, st);
          if (write_all(1, line, (size_t)len)) return 0;
          runs[i] = runs[--nruns];
          break;
        }
      }
    }
    if (!fds[0].revents) continue;
    if (have == cap) return 70;
    ssize_t got = read(0, buf + have, cap - have);
    if (got <= 0) { /* the caller went away: supervisors get SIGTERM, the spare sees EOF */
      int st;
      if (pool.preparing && waitpid(pool.preparing, &st, 0) > 0) pool.ready = WIFEXITED(st) && !WEXITSTATUS(st);
      if (pool.ready) disk_detach(pool.path);
      return 0;
    }
    have += (size_t)got;
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "--serve")) return serve(argc, argv);
  if (argc == 3 && !strcmp(argv[1], "--remove")) return remove_tree(argv[2]);
  if (fcntl(report_fd, F_GETFD) < 0) report_fd = 2;
  else fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  if (argc >= 3 && !strcmp(argv[1], "--disk-detach")) { /* the probe's sweep of dead processes' disks */
    for (int i = 2; i < argc; i++) disk_detach(argv[i]);
    return 0;
  }
  return run_one(argc, argv);
}
