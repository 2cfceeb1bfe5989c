/*
 * The sandbox, set up by the helper itself (as isolate does) instead of exec'ing bwrap: bwrap
 * cost ~3 ms a run here (its dynamic loading, its own pid 1, sluice-init's exec), the namespaces
 * and mounts themselves ~0.5 ms (docs/sandbox.md, "Where the time goes").
 *
 * The supervisor clone()s the sandbox's pid 1 into new pid, mount, network, IPC and UTS
 * namespaces (and a cgroup namespace with --proc). No user namespace: the helper runs as root (the
 * run disks need it anyway) and the program runs as an unprivileged host uid. pid 1, still root:
 *   - makes every mount private, builds a new root on a small tmpfs (the --bind, --ro-bind and
 *     --symlink entries, four device nodes, /proc with --proc), pivots into it, detaches the host's
 *     tree and makes the root read-only;
 *   - forks the program's process, which sets the rlimits, drops to the program's uid and gid
 *     (every capability goes, the bounding set too), sets no_new_privs, loads the seccomp filter
 *     and execs the program;
 *   - closes everything but its status pipe, hides its command line, waits for the program, and
 *     writes "W<status>\n" (the program's real wait status) before it exits, which ends the
 *     namespace and whatever was left in it.
 * The program cannot signal, trace or read pid 1 (root, not dumpable, seccomp), and sees nothing
 * of the host but what was bound.
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where the new root is built: a tmpfs mounted over /tmp in the new mount namespace only. */
#define NEWROOT "/tmp"

static struct sock_fprog filter;

/* Reads the --seccomp BPF program (in the supervisor: the program's process only loads it). */
void sandbox_load_filter(void) {
  if (!o.seccomp_path) return;
  static struct sock_filter insns[BPF_MAXINSNS];
  int fd = open(o.seccomp_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open the seccomp filter %s: %s", o.seccomp_path, strerror(errno));
  size_t have = 0;
  ssize_t n;
  while ((n = read(fd, (char *)insns + have, sizeof insns - have)) > 0) have += (size_t)n;
  close(fd);
  if (n < 0 || !have || have % sizeof *insns) die("the seccomp filter %s is not a BPF program", o.seccomp_path);
  filter.len = (unsigned short)(have / sizeof *insns);
  filter.filter = insns;
}

/* mkdir -p of the parents of `path` (inside the new root, which belongs to us). */
static void make_parents(int errfd, char *path) {
  for (char *p = path + strlen(NEWROOT) + 1; (p = strchr(p, '/')); p++) {
    *p = 0;
    if (mkdir(path, 0755) && errno != EEXIST) child_fail(errfd, "cannot create", path);
    *p = '/';
  }
}

/* A mount point for `src_fd` at `path`: a folder for a folder, an empty file for anything else. */
static void make_mountpoint(int errfd, char *path, int src_fd) {
  struct stat st;
  if (fstat(src_fd, &st)) child_fail(errfd, "cannot stat the source of", path);
  make_parents(errfd, path);
  if (S_ISDIR(st.st_mode) ? mkdir(path, 0755) && errno != EEXIST : mknod(path, S_IFREG | 0644, 0) && errno != EEXIST)
    child_fail(errfd, "cannot create", path);
}

/*
 * A bind source is a mount of the host's namespace, which a mount call in the new one refuses: the
 * supervisor clones each into a detached tree first (open_tree), which pid 1 attaches (move_mount).
 */
void sandbox_detach_sources(void) {
  for (int i = 0; i < o.nmounts; i++) {
    struct mountspec *m = &o.mounts[i];
    if (m->kind == M_SYMLINK) continue;
    int tree = (int)syscall(SYS_open_tree, m->fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) die("cannot clone the mount of %s: %s", m->dst, strerror(errno));
    close(m->fd);
    m->fd = tree;
  }
}

static void bind_fd(int errfd, int tree, const char *path, unsigned long flags) {
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH)) child_fail(errfd, "cannot bind", path);
  /* A bind keeps its source's flags; these are set by a remount of the bind alone. */
  if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL)) child_fail(errfd, "cannot remount", path);
}

static void build_root(int errfd) {
  /* Nothing mounted here propagates back to the host, whatever the host's / shares. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) child_fail(errfd, "cannot make the mounts private", "/");
  if (mount("sluice", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=1024,mode=0755"))
    child_fail(errfd, "cannot mount the sandbox's root on", NEWROOT);
  char path[PATH_MAX];
  for (int i = 0; i < o.nmounts; i++) {
    struct mountspec *m = &o.mounts[i];
    snprintf(path, sizeof path, NEWROOT "%s", m->dst);
    if (m->kind == M_SYMLINK) {
      make_parents(errfd, path);
      if (symlink(m->target, path)) child_fail(errfd, "cannot create the symlink", path);
      continue;
    }
    make_mountpoint(errfd, path, m->fd);
    bind_fd(errfd, m->fd, path, MS_NOSUID | MS_NODEV | (m->kind == M_BIND_RO ? MS_RDONLY : 0));
  }
  /* Four devices, not the host's /dev (a bind keeps the devtmpfs's nosuid). */
  if (mkdir(NEWROOT "/dev", 0755) && errno != EEXIST) child_fail(errfd, "cannot create", NEWROOT "/dev");
  static const char *const devices[] = {"null", "zero", "random", "urandom"};
  for (unsigned i = 0; i < sizeof devices / sizeof *devices; i++) {
    char from[32];
    snprintf(from, sizeof from, "/dev/%s", devices[i]);
    snprintf(path, sizeof path, NEWROOT "/dev/%s", devices[i]);
    if (mknod(path, S_IFREG | 0644, 0) || mount(from, path, NULL, MS_BIND, NULL)) child_fail(errfd, "cannot bind", from);
  }
  if (o.proc) {
    /* The sandbox's own processes only (this pid namespace), and none of the system-wide files. */
    if (mkdir(NEWROOT "/proc", 0555) && errno != EEXIST) child_fail(errfd, "cannot create", NEWROOT "/proc");
    if (mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid"))
      child_fail(errfd, "cannot mount", "/proc");
  }
  /* pivot_root(".", "."): the old root ends up on top of the new one, and is detached at once. */
  if (chdir(NEWROOT)) child_fail(errfd, "cannot enter", NEWROOT);
  if (syscall(SYS_pivot_root, ".", ".")) child_fail(errfd, "pivot_root", NEWROOT);
  if (umount2(".", MNT_DETACH)) child_fail(errfd, "cannot detach", "the host's root");
  if (chdir("/")) child_fail(errfd, "chdir", "/");
  if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL))
    child_fail(errfd, "cannot make the root read-only", "/");
}

/*
 * The program's process: limits, no privileges at all, the syscall filter, exec. It is the OOM
 * killer's first choice in the run's group (oom_score_adj 1000, set here: lowering pid 1's back
 * after a fork would need CAP_SYS_RESOURCE): `proc` is the host's /proc, opened by pid 1 before the
 * pivot, where "self" is this process.
 */
__attribute__((noreturn)) static void program(int errfd, int proc) {
  int adj = openat(proc, "self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj < 0 || write(adj, "1000", 4) != 4) child_fail(errfd, "cannot set", "oom_score_adj");
  close(adj);
  close(proc);
  child_limits(errfd);
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno == EINVAL) break;
  child_ids(errfd);
  if (perf_sock >= 0) perf_send_counter(errfd, perf_sock); /* before the filter, which forbids perf_event_open */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) child_fail(errfd, "prctl", "PR_SET_NO_NEW_PRIVS");
  if (filter.len && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter)) child_fail(errfd, "cannot load", "the seccomp filter");
  child_exec(errfd);
}

/* Shows "sluice-init" as pid 1's command line instead of the helper's (which holds host paths):
   the arguments' memory itself is overwritten (PR_SET_MM would need CAP_SYS_RESOURCE). */
static void hide_cmdline(void) {
  static const char name[] = "sluice-init";
  if (main_argc > 0) {
    char *start = main_argv[0], *end = main_argv[main_argc - 1] + strlen(main_argv[main_argc - 1]) + 1;
    memset(start, 0, (size_t)(end - start));
    memcpy(start, name, (size_t)(end - start) < sizeof name ? (size_t)(end - start) - 1 : sizeof name);
  }
  prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

/* pid 1 of the sandbox, in its new namespaces: builds the root, runs the program, reports its status. */
__attribute__((noreturn)) static void init(int errfd, int in_fd, int out_fd, int err_fd, int init_write) {
  errfd = lift_fd(errfd);
  init_write = lift_fd(init_write);
  perf_sock = lift_fd(perf_sock);
  child_signals();
  setsid(); /* no controlling terminal (TIOCSTI), and a process group of its own to kill */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct pollfd alive = {errfd, POLLOUT, 0};
  if (poll(&alive, 1, 0) == 1 && (alive.revents & (POLLERR | POLLHUP))) _exit(126); /* the supervisor died first */
  prctl(PR_SET_DUMPABLE, 0);
  for (int i = 0; i < o.ncg && !self_joined; i++) {
    struct cgroup *c = &o.cg[i];
    if (c->kinds && write_file(c->dir, "cgroup.procs", "0")) child_fail(errfd, "cannot join cgroup", c->dir);
  }
  /* The OOM killer's order in the run's group: the program (1000, set in its process), then this
     pid 1 (500: its death with an OOM kill is still the program's MLE), never the supervisor
     (-1000, or 0 where root lacks CAP_SYS_RESOURCE, as here: it must at least not tie with pid 1,
     a copy of it). */
  int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj < 0 || write(adj, "500", 3) != 3) child_fail(errfd, "cannot set", "oom_score_adj");
  close(adj);
  int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) child_fail(errfd, "cannot open", "/proc");
  if (sethostname("sluice", 6)) child_fail(errfd, "sethostname", "");
  child_streams(errfd, in_fd, out_fd, err_fd);
  int keep[MAX_FDS + 1], nkeep = 0;
  for (int i = 0; i < o.nfds; i++) keep[nkeep++] = o.fds[i].target;
  child_cloexec_others(errfd, keep, nkeep);
  build_root(errfd);
  pid_t pid = fork();
  if (pid < 0) child_fail(errfd, "fork", "the program");
  if (pid == 0) program(errfd, proc);
  /* Nothing of the run stays open here: a pipe's other end sees EOF when the program ends. */
  syscall(SYS_close_range, 0, init_write - 1, 0);
  syscall(SYS_close_range, init_write + 1, ~0U, 0);
  hide_cmdline();
  for (;;) {
    int status = 0;
    pid_t got = waitpid(-1, &status, __WALL);
    if (got == pid) {
      char line[24];
      int len = snprintf(line, sizeof line, "W%d\n", status);
      if (write(init_write, line, (size_t)len) < 0) { /* the supervisor then sees no status: SE */ }
      _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
    }
    if (got < 0 && errno != EINTR) _exit(126);
  }
}

/* Starts the sandbox; returns its pid 1's pid (in the supervisor's namespace). */
pid_t sandbox_start(int errfd, int in_fd, int out_fd, int err_fd, int init_write) {
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (o.proc) flags |= CLONE_NEWCGROUP; /* /proc/self/cgroup then shows no host path */
  pid_t pid = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
  if (pid == 0) init(errfd, in_fd, out_fd, err_fd, init_write);
  return pid;
}
