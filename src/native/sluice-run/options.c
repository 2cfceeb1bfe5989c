/*
 * The command line of one run:
 *
 *   sluice-run [options] -- PROGRAM [args...]
 *
 * Sizes in bytes unless the name says kb, times in ms; 0 = no limit.
 *   --cpu-ms N --wall-ms N --mem-kb N (RSS; cgroup limit + check) --cg-slack-kb N (cgroup extra)
 *   --as-kb N --fsize N --stack-kb N --nofile N --procs N (pids.max, else RLIMIT_NPROC)
 *   --stdin PATH --stdout PATH (created, O_APPEND) --stderr PATH | --stderr-to-stdout
 *   --output-limit N (kill when the stdout file grows beyond N)
 *   --cg-v1 DIR (a parent folder in a v1 hierarchy; repeat for memory, pids, cpuacct)
 *   --cg-v2 DIR (a parent folder in the unified hierarchy)  --cg-name NAME
 *   --uid N --gid N (the program's host ids; needs root)
 *   --disk DIR --disk-limit N (DIR: the run's own file system, from --disk-take; the program may
 *                 add N bytes to it: a root-owned ballast file leaves exactly N + DISK_MARGIN free,
 *                 and more than N is killed_by "disk"; reported as "disk_bytes")
 *   --poll-rss (no memory cgroup: poll the tree's RSS and kill above --mem-kb)
 *   --chdir DIR  --env K=V (the environment is exactly the --env values)
 *   --pipe-fd N=Kr|Kw (a group run: the read or write end of the group's pipe K as fd N)
 *   --count-instructions instructions|task-clock --instruction-limit N (perf.c: count the
 *                 program's events; kill as killed_by "cpu" at N; reported as "instructions")
 * The sandbox (sandbox.c; PROGRAM and --chdir are then paths inside it):
 *   --sandbox (new pid, mount, network, IPC and UTS namespaces; a read-only root of its own)
 *   --bind HOST:DST (writable)  --ro-bind HOST:DST  --symlink TARGET:LINK  (the root's entries)
 *   --proc (a /proc of the sandbox's own processes, and a cgroup namespace)
 *   --seccomp FILE (a BPF program the program runs under)
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct options o;
int (*pipe_end)(int pipe, int write_end);

void options_defaults(void) {
  memset(&o, 0, sizeof o);
}

/* Splits "A:B" at its last colon (a host path may hold one; a path inside the sandbox never does). */
static char *split(const char *opt, char *value) {
  char *colon = strrchr(value, ':');
  if (!colon || colon == value || !colon[1]) die("%s expects SOURCE:DESTINATION, got %s", opt, value);
  *colon = 0;
  return colon + 1;
}

static void add_mount(const char *opt, enum mount_kind kind, char *value) {
  if (o.nmounts == MAX_MOUNTS) die("too many mounts");
  const char *dst = split(opt, value);
  if (dst[0] != '/') die("%s: %s is not an absolute path", opt, dst);
  struct mountspec *m = &o.mounts[o.nmounts++];
  *m = (struct mountspec){kind, -1, NULL, dst};
  if (kind == M_SYMLINK) {
    m->target = value;
    return;
  }
  /* Opened now, by the supervisor: what is bound is what this path names at the start of the run. */
  m->fd = open(value, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (m->fd < 0) die("cannot open %s: %s", value, strerror(errno));
}

static void add_pipe(const char *value) {
  if (!pipe_end) die("--pipe-fd is only for group runs");
  if (o.nfds == MAX_FDS) die("too many fds");
  char *eq = strchr(value, '=');
  if (!eq || eq == value || (eq[strlen(eq) - 1] != 'r' && eq[strlen(eq) - 1] != 'w')) die("--pipe-fd expects N=Kr or N=Kw, got %s", value);
  char target[16], pipe[16];
  snprintf(target, sizeof target, "%.*s", (int)(eq - value), value);
  snprintf(pipe, sizeof pipe, "%.*s", (int)strlen(eq + 1) - 1, eq + 1);
  int fd = (int)num("--pipe-fd", target);
  if (fd > 64) die("--pipe-fd: fd %d must be between 0 and 64", fd);
  o.fds[o.nfds++] = (struct fdspec){fd, pipe_end((int)num("--pipe-fd", pipe), eq[strlen(eq) - 1] == 'w')};
}

void parse(int argc, char **argv, int need_program) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) { i++; break; }
    char *v = i + 1 < argc ? argv[i + 1] : NULL;
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
#define FLAG(name, field_) \
  if (!strcmp(a, name)) {  \
    o.field_ = 1;          \
    continue;              \
  }
    NUM("--cpu-ms", cpu_ms) NUM("--wall-ms", wall_ms) NUM("--mem-kb", mem_kb) NUM("--cg-slack-kb", slack_kb)
    NUM("--as-kb", as_kb) NUM("--fsize", fsize) NUM("--stack-kb", stack_kb) NUM("--nofile", nofile)
    NUM("--procs", procs) NUM("--output-limit", output_limit) NUM("--disk-limit", disk_limit) NUM("--instruction-limit", instruction_limit)
    STR("--stdin", stdin_path) STR("--stdout", stdout_path) STR("--stderr", stderr_path)
    STR("--chdir", chdir_to) STR("--cg-name", cg_name) STR("--disk", disk_dir) STR("--seccomp", seccomp_path) STR("--count-instructions", count_event)
    FLAG("--stderr-to-stdout", stderr_to_stdout) FLAG("--poll-rss", poll_rss) FLAG("--sandbox", sandbox) FLAG("--proc", proc)
#undef NUM
#undef STR
#undef FLAG
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
    if (!strcmp(a, "--bind")) { add_mount(a, M_BIND_RW, v); continue; }
    if (!strcmp(a, "--ro-bind")) { add_mount(a, M_BIND_RO, v); continue; }
    if (!strcmp(a, "--symlink")) { add_mount(a, M_SYMLINK, v); continue; }
    if (!strcmp(a, "--pipe-fd")) { add_pipe(v); continue; }
    if (!strcmp(a, "--env")) {
      if (o.nenv == MAX_ENV) die("too many --env");
      o.env[o.nenv++] = v;
      continue;
    }
    die("unknown option: %s", a);
  }
  if (!need_program) return;
  if (i >= argc) die("no program given (expected -- PROGRAM ARGS...)");
  o.argv = argv + i;
}
