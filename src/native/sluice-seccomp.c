/*
 * sluice-seccomp: writes the sandbox's seccomp deny-list as a BPF program (the helper loads it in the
 * program's process, sluice-run/sandbox.c).
 * Built and run once by scripts/build-native.mjs when libseccomp-dev is installed:
 *
 *   sluice-seccomp OUT.bpf
 *
 * Default: allow. Killed (the run ends as RV): tracing and other processes' memory, mounts and
 * namespaces, kernel modules, keys, BPF, perf, clocks, reboot, and any non-native ABI (32-bit
 * int 0x80, x32). Refused with an errno (programs and compilers go on): sockets other than
 * AF_UNIX (EACCES), io_uring and clone3 (ENOSYS: glibc and libuv fall back to the classic calls,
 * whose flags a filter can inspect).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *const killed[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "create_module", "query_module",
    "bpf", "perf_event_open", "userfaultfd", "lookup_dcookie",
    "keyctl", "add_key", "request_key",
    "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "nfsservctl",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    "sethostname", "setdomainname", "iopl", "ioperm",
    "uselib", "ustat", "sysfs", "_sysctl",
};

static const char *const nosys[] = {"io_uring_setup", "io_uring_enter", "io_uring_register", "clone3"};

static int add(scmp_filter_ctx ctx, unsigned action, const char *name, unsigned n, const struct scmp_arg_cmp *args) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return 0; /* not on this architecture */
  int rc = seccomp_rule_add_array(ctx, action, nr, n, args);
  if (rc < 0 && rc != -EEXIST) {
    fprintf(stderr, "sluice-seccomp: rule for %s: %s\n", name, strerror(-rc));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sluice-seccomp OUT.bpf\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return 1;
  int bad = 0;
  bad |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0;
  for (size_t i = 0; i < sizeof killed / sizeof *killed; i++) bad |= add(ctx, SCMP_ACT_KILL_PROCESS, killed[i], 0, NULL);
  for (size_t i = 0; i < sizeof nosys / sizeof *nosys; i++) bad |= add(ctx, SCMP_ACT_ERRNO(ENOSYS), nosys[i], 0, NULL);

  /* clone with any namespace flag: killed (the classic clone's flags are its first argument on every
     architecture libseccomp knows, except s390, which Sluice does not target). */
  const unsigned long ns_flags[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                    CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME};
  for (size_t i = 0; i < sizeof ns_flags / sizeof *ns_flags; i++) {
    struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
    bad |= add(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, &cmp);
  }
  /* Sockets: only AF_UNIX (socketpair and local IPC inside the run); the network namespace has no
     interfaces anyway, this makes the refusal immediate and explicit. */
  struct scmp_arg_cmp not_unix = SCMP_A0(SCMP_CMP_NE, AF_UNIX);
  bad |= add(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, &not_unix);
  if (bad) {
    fprintf(stderr, "sluice-seccomp: could not build the filter\n");
    return 1;
  }
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  int rc = seccomp_export_bpf(ctx, fd);
  close(fd);
  seccomp_release(ctx);
  if (rc < 0) {
    fprintf(stderr, "sluice-seccomp: export: %s\n", strerror(-rc));
    return 1;
  }
  return 0;
}
