/*
 * `sluice-run --perf-probe`: can this machine count a program's instructions (sio2jail's time:
 * 2·10⁹ instructions = 1 s)? Prints {"instructions":true} or {"instructions":false,"reason":...}.
 * Many VMs and CI machines have no hardware PMU (perf's event sources are then software only).
 */
#include "sluice-run.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int perf_probe(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_INSTRUCTIONS;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  attr.disabled = 1;
  int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    printf("{\"instructions\":true}\n");
    return 0;
  }
  const char *why = errno == ENOENT || errno == EOPNOTSUPP ? "no hardware instruction counter (no PMU)" : strerror(errno);
  printf("{\"instructions\":false,\"reason\":\"perf_event_open(PERF_COUNT_HW_INSTRUCTIONS): %s\"}\n", why);
  return 0;
}
