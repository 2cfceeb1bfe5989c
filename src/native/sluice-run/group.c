/*
 * A group run: several sandboxes at once, connected by pipes (an interactive task's program
 * copies and its interactor). One served frame:
 *
 *   ID --group --pipes P --section N ARGS(N)... --section M ARGS(M)...
 *
 * makes P pipes, then forks one supervisor per section. Each is an ordinary one-shot supervisor:
 * its own cgroups, limits, disk and report (with "proc": its index); a section names its pipe
 * ends with --pipe-fd N=Kr|Kw and never holds the others, so each end sees EOF when its peer ends.
 * The group's process only waits for them; a deadlock between the sandboxes ends at their wall limits.
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PIPES 32
#define MAX_SECTIONS 17

static int pipes[MAX_PIPES][2];
static int npipes;
static int used[MAX_PIPES][2];

static int group_pipe_end(int pipe, int write_end) {
  if (pipe >= npipes) die("--pipe-fd: the group has %d pipes, no pipe %d", npipes, pipe);
  used[pipe][write_end] = 1;
  return pipes[pipe][write_end];
}

__attribute__((noreturn)) static void section(int index, int argc, char **argv, const struct options *base) {
  argv[argc] = NULL; /* the program's argv ends here, not at the next section (a copy: this is a child) */
  o = *base;
  self_joined = 0; /* this supervisor's program joins groups of its own, as a one-shot run's does */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  size_t len = strlen(report_prefix); /* {"id":"ID", then the section's index */
  snprintf(report_prefix + len, sizeof report_prefix - len, "\"proc\":%d,", index);
  pipe_end = group_pipe_end;
  parse(argc, argv, 1);
  for (int i = 0; i < npipes; i++)
    for (int end = 0; end < 2; end++)
      if (!used[i][end]) close(pipes[i][end]);
  exit(run_body(cg_create()));
}

void group_run(int argc, char **argv, const struct options *base) {
  int i = 1;
  if (i < argc && !strcmp(argv[i], "--group")) i++;
  if (i + 1 < argc && !strcmp(argv[i], "--pipes")) {
    npipes = (int)num("--pipes", argv[i + 1]);
    i += 2;
  }
  if (npipes > MAX_PIPES) die("a group has at most %d pipes", MAX_PIPES);
  for (int p = 0; p < npipes; p++)
    if (pipe2(pipes[p], O_CLOEXEC)) die("pipe: %s", strerror(errno));
  pid_t pids[MAX_SECTIONS];
  int n = 0;
  while (i < argc) {
    if (strcmp(argv[i], "--section") || i + 1 >= argc) die("a group expects --section N ARGS..., got %s", argv[i]);
    int count = (int)num("--section", argv[i + 1]);
    if (i + 2 + count > argc) die("--section %d: only %d arguments left", count, argc - i - 2);
    if (n == MAX_SECTIONS) die("a group has at most %d sections", MAX_SECTIONS);
    /* parse() starts at its argv[1]: argv[i + 1] (the count) stands where a program name would. */
    pid_t pid = fork();
    if (pid == 0) section(n, count + 1, argv + i + 1, base);
    if (pid < 0) die("fork: %s", strerror(errno));
    pids[n++] = pid;
    i += 2 + count;
  }
  for (int p = 0; p < npipes; p++) close(pipes[p][0]), close(pipes[p][1]);
  for (int k = 0; k < n; k++)
    while (waitpid(pids[k], NULL, 0) < 0 && errno == EINTR) {}
  exit(0);
}
