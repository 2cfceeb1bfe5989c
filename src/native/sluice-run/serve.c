/*
 * `sluice-run --serve [OPTIONS]`: one long-lived helper per Node process, so a run costs a fork of
 * this small process instead of a Node spawn plus an exec. OPTIONS (e.g. the cgroup parents) apply
 * to every run. Requests arrive on stdin as frames: a 4-byte little-endian length, then
 * NUL-terminated strings: the run's id, then the options and program as for a single run (or a
 * group, group.c; or a disk request, disk.c). A spare supervisor is always forked in advance, its
 * cgroups already made and joined; a request goes to it and the next spare is forked. stdout gets
 * `{"id":ID,"pid":N}` when a run starts, its report (with "id" first, written by the supervisor
 * itself: one write under PIPE_BUF, which neither a pipe nor a socketpair interleaves), and
 * `{"id":ID,"exited":STATUS}` when its supervisor is gone (the caller ignores it after a report).
 * End of stdin ends the server; supervisors then get SIGTERM.
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

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
  static struct options server_options; /* before cg_create names this spare's groups in `o` */
  server_options = o;
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
  static char *args[2048];
  int n = frame_args(frame + 4, have - 4, args, 2048);
  if (n > 1 && !strcmp(args[1], "--group")) group_run(n, args, &server_options);
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

int serve(int argc, char **argv) {
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
  options_defaults();
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
        disk_pool_reaped(pid, st);
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
      disk_pool_release();
      return 0;
    }
    have += (size_t)got;
  }
}

