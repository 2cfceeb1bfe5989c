/*
 * Counting a program's instructions (sio2jail's time: 2·10⁹ instructions = 1 s).
 *
 * `sluice-run --perf-probe` says whether this machine can: {"instructions":true} or
 * {"instructions":false,"reason":...}; many VMs and CI machines have no hardware PMU.
 *
 * With `--count-instructions EVENT`, the program's own process opens the counter on itself just
 * before its exec (enabled by the exec, inherited by its threads and children, user space only:
 * what perf_event_paranoid 2 allows an unprivileged process, and before the seccomp filter, which
 * forbids perf_event_open), and hands it to the supervisor over a socket (SCM_RIGHTS), which
 * reads it while the program runs (the limit) and at the end (the report). EVENT is
 * `instructions`, or `task-clock` (software, ns of CPU): the same path on a machine without a PMU.
 */
#include "sluice-run.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_counter(const char *event, int enable_on_exec) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  if (event && !strcmp(event, "task-clock")) {
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
  } else {
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = PERF_COUNT_HW_INSTRUCTIONS;
  }
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  attr.disabled = 1;
  attr.inherit = 1;
  attr.enable_on_exec = (unsigned)enable_on_exec;
  return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* In the program's process, before exec: opens the counter and sends it (or nothing, on failure). */
void perf_send_counter(int errfd, int sock) {
  int fd = open_counter(o.count_event, 1);
  if (fd < 0) child_fail(errfd, "cannot open the instruction counter", o.count_event);
  char byte = 'C';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char space[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(sock, &msg, 0) != 1) child_fail(errfd, "cannot hand over", "the instruction counter");
  close(fd);
  close(sock);
}

/* In the supervisor, once the program is exec'd: the counter it sent, or -1. */
int perf_receive_counter(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char space[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* The count so far (the program, its threads and its children, live or gone), or -1. */
long long perf_count(int fd) {
  uint64_t value;
  return fd >= 0 && read(fd, &value, sizeof value) == sizeof value ? (long long)value : -1;
}

int perf_probe(void) {
  int fd = open_counter("instructions", 0);
  if (fd >= 0) {
    close(fd);
    printf("{\"instructions\":true}\n");
    return 0;
  }
  const char *why = errno == ENOENT || errno == EOPNOTSUPP ? "no hardware instruction counter (no PMU)" : strerror(errno);
  printf("{\"instructions\":false,\"reason\":\"perf_event_open(PERF_COUNT_HW_INSTRUCTIONS): %s\"}\n", why);
  return 0;
}
