/*
 * sluice-run: runs one program under limits and reports one JSON line on fd 3 (docs/sandbox.md).
 *
 *   sluice-run [options] -- PROGRAM [args...]        one run (options.c lists the options)
 *   sluice-run --serve [options]                     the served mode (serve.c)
 *   sluice-run --disk-detach PATH...                 the probe's sweep of dead processes' disks
 *   sluice-run --remove PATH                         removes a tree a program made (remove.c)
 *   sluice-run --perf-probe                          can instructions be counted here (perf.c)
 */
#include "sluice-run.h"
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int report_fd = 3;
char **main_argv;
int main_argc;
char report_prefix[128] = "{"; /* "{" or, for a served run, "{"id":"...", */

int main(int argc, char **argv) {
  main_argv = argv;
  main_argc = argc;
  if (argc >= 2 && !strcmp(argv[1], "--serve")) return serve(argc, argv);
  if (argc == 3 && !strcmp(argv[1], "--remove")) return remove_tree(argv[2]);
  if (argc == 2 && !strcmp(argv[1], "--perf-probe")) return perf_probe();
  if (fcntl(report_fd, F_GETFD) < 0) report_fd = 2;
  else fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  if (argc >= 3 && !strcmp(argv[1], "--disk-detach")) {
    for (int i = 2; i < argc; i++) disk_detach(argv[i]);
    return 0;
  }
  options_defaults();
  parse(argc, argv, 1);
  return run_body(cg_create());
}
