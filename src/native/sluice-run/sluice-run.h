/*
 * sluice-run: the sandbox's helper (see docs/sandbox.md). One binary, one file per job:
 *
 *   main.c     the modes (one run, --serve, --remove, --disk-detach)
 *   options.c  the command line of one run (the option list is at the top of options.c)
 *   util.c     small helpers: clocks, JSON strings, the error report, files
 *   cgroups.c  the run's own cgroups: create, limit, join, read, kill, remove
 *   tree.c     the process tree under /proc: descendants, CPU and RSS, kills
 *   child.c    the forked child: rlimits, standard streams and fds, ids, exec
 *   sandbox.c  the sandbox: namespaces, the new root, its pid 1, the program's privileges
 *   run.c      the supervisor: limits while the program runs, kill, reap, report
 *   disk.c     each run's bounded file system: ballast and watching (run), make and release (server)
 *   group.c    several sandboxes connected by pipes (interactive tasks), one report each
 *   serve.c    the served mode: spare supervisors, frames, disk requests
 *   remove.c   removing the trees a program left
 *   perf.c     whether instructions can be counted here (sio2jail's time)
 */
#ifndef SLUICE_RUN_H
#define SLUICE_RUN_H
#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/types.h>

#define MAX_CG 4
#define MAX_FDS 16
#define MAX_ENV 32
#define MAX_MOUNTS 24
#define POLL_NS 10000000L /* 10 ms */

enum cg_kind { CG_MEMORY = 1, CG_PIDS = 2, CG_CPU = 4 };

struct cgroup {
  char parent[PATH_MAX];
  char dir[PATH_MAX];
  int v2;
  int kinds; /* what this folder is used for */
  int cpu_fd;
};

/* An fd the program gets at `target` (a pipe end of a group run). */
struct fdspec {
  int target;
  int fd;
};

enum mount_kind { M_BIND_RW, M_BIND_RO, M_SYMLINK };

/* One entry of the sandbox's root: a host folder or file (opened O_PATH when parsed) or a symlink. */
struct mountspec {
  enum mount_kind kind;
  int fd;             /* the source, for binds */
  const char *target; /* the symlink's target */
  const char *dst;    /* where, inside the sandbox */
};

/* One run's options (options.c fills it; a served run starts from the server's own). */
struct options {
  long long cpu_ms, wall_ms, mem_kb, slack_kb, as_kb, fsize, stack_kb, nofile, procs, output_limit, disk_limit, instruction_limit;
  const char *stdin_path, *stdout_path, *stderr_path, *chdir_to, *cg_name, *disk_dir, *seccomp_path, *count_event;
  int stderr_to_stdout, poll_rss, drop, sandbox, proc;
  uid_t uid;
  gid_t gid;
  struct cgroup cg[MAX_CG];
  int ncg;
  struct fdspec fds[MAX_FDS];
  int nfds;
  struct mountspec mounts[MAX_MOUNTS];
  int nmounts;
  char *env[MAX_ENV + 1];
  int nenv;
  char **argv;
};

extern struct options o;
extern int report_fd;
/* main()'s arguments: pid 1 of a sandbox overwrites them (sandbox.c). */
extern char **main_argv;
extern int main_argc;
extern char report_prefix[128];
/* A served supervisor joined its run's cgroups itself, before its request arrived (serve.c). */
extern int self_joined;
extern long long self_cpu_base;

/* util.c */
long long now_ns(void);
long long self_cpu_ns(void);
void json_str(void *file, const char *s);
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
long long num(const char *opt, const char *s);
int write_file(const char *dir, const char *name, const char *value);
ssize_t read_file(const char *dir, const char *name, char *buf, size_t size);
long long field(const char *text, const char *key);
int write_all(int fd, const char *buf, size_t len);
void drain(int fd, char *buf, size_t size, size_t *len);

/* options.c */
void options_defaults(void);
void parse(int argc, char **argv, int need_program);
/* Group runs: a pipe end named in a section ("--pipe-fd N=Kr"); set by group.c before parsing. */
extern int (*pipe_end)(int pipe, int write_end);

/* cgroups.c */
const char *cg_create(void);
void cg_limit(void);
int cg_has(int kind);
long long cg_cpu_ns(void);
int cg_kill(void);
const char *cg_join_self(void);
void cg_leave(void);
void cg_remove(void);
void cg_memory_figures(long long *peak_kb, long long *oom_kill);

/* tree.c */
int read_stat(int pid, long long *f, int nf);
void tree_usage(long long *cpu_ms, long long *max_rss_kb);
void kill_deeper(int depth);
void kill_all(pid_t child, int child_alive);
long long runtime_ns(pid_t pid);
int count_own_tasks(void);

/* child.c */
__attribute__((noreturn)) void child_fail(int errfd, const char *what, const char *arg);
void child_signals(void);
int lift_fd(int fd);
void child_streams(int errfd, int in_fd, int out_fd, int err_fd);
void child_limits(int errfd);
void child_cloexec_others(int errfd, const int *keep, int nkeep);
void child_ids(int errfd);
__attribute__((noreturn)) void child_exec(int errfd);
__attribute__((noreturn)) void child(int errfd, int in_fd, int out_fd, int err_fd, pid_t parent);

/* sandbox.c */
void sandbox_load_filter(void);
void sandbox_detach_sources(void);
pid_t sandbox_start(int errfd, int in_fd, int out_fd, int err_fd, int init_write);

/* disk.c */
extern int disk_fd;
extern long long disk_peak;
void disk_prepare(void);
int disk_over(void);
void disk_detach(const char *mnt);
pid_t disk_request(int argc, char **argv, int report, int devnull);
void disk_pool_release(void);
void disk_pool_reaped(pid_t pid, int status);
extern int server_fds[2];
pid_t server_fork(int devnull);

/* run.c */
int run_body(const char *cg_error);

/* group.c */
__attribute__((noreturn)) void group_run(int argc, char **argv, const struct options *base);

/* serve.c */
int serve(int argc, char **argv);

/* perf.c */
int perf_probe(void);
void perf_send_counter(int errfd, int sock);
int perf_receive_counter(int sock);
long long perf_count(int fd);
/* The socket the program's process hands its counter over (--count-instructions), or -1. */
extern int perf_sock;

/* remove.c */
int remove_tree(const char *path);

#endif
