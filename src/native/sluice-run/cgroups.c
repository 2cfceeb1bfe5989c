/*
 * The run's own cgroups: one fresh group per hierarchy (memory, pids, cpu), made under the
 * parents given with --cg-v1/--cg-v2, limited, read at the end, removed afterwards. A fresh group
 * per run, because a reused memory group keeps the previous run's page cache charged
 * (notes-sandbox.md §2.3).
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

int self_joined;
long long self_cpu_base;

/* Creates this run's groups (a served run does it before its request arrives). Returns NULL or why not. */
const char *cg_create(void) {
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
    c->kinds = 0;
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

void cg_limit(void) {
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

int cg_has(int kind) {
  for (int i = 0; i < o.ncg; i++)
    if (o.cg[i].kinds & kind) return 1;
  return 0;
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

/* CPU time of the run's cgroup in ns (without this supervisor's own), or -1. */
long long cg_cpu_ns(void) {
  long long ns = cg_cpu_raw();
  if (ns >= 0 && self_joined) ns -= self_cpu_ns() - self_cpu_base;
  return ns;
}

/* Kills every process in the run's cgroups; returns how many were found. */
int cg_kill(void) {
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

/*
 * Moves this process into the run's groups. A write to cgroup.procs takes the cgroup threadgroup
 * lock, which waits for an RCU grace period unless another write happened just before: 15-20 ms
 * here when runs are not back to back. A served spare does it before its request arrives.
 */
const char *cg_join_self(void) {
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
void cg_leave(void) {
  for (int i = 0; i < o.ncg && self_joined; i++)
    if (o.cg[i].kinds) write_file(o.cg[i].parent, "cgroup.procs", "0");
  self_joined = 0;
}

void cg_remove(void) {
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

/* The memory group's peak and its OOM kills (-1 when unknown). */
void cg_memory_figures(long long *peak_kb, long long *oom_kill) {
  char buf[4096];
  *peak_kb = *oom_kill = -1;
  for (int i = 0; i < o.ncg; i++) {
    struct cgroup *c = &o.cg[i];
    if (!(c->kinds & CG_MEMORY)) continue;
    if (c->v2) {
      if (read_file(c->dir, "memory.peak", buf, sizeof buf) > 0) *peak_kb = atoll(buf) / 1024;
      if (read_file(c->dir, "memory.events", buf, sizeof buf) > 0) *oom_kill = field(buf, "oom_kill");
    } else {
      if (read_file(c->dir, "memory.max_usage_in_bytes", buf, sizeof buf) > 0) *peak_kb = atoll(buf) / 1024;
      if (read_file(c->dir, "memory.oom_control", buf, sizeof buf) > 0) *oom_kill = field(buf, "oom_kill");
    }
  }
}
