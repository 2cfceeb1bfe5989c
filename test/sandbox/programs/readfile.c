/* Tries to read host files; prints each path it could open, or "blocked". SECRET is set at compile time. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char *paths[] = {SECRET, "/etc/passwd", "/etc/hostname", "/root/.bashrc", "/home", "/var/log", "/sys/kernel"};
  int opened = 0;
  for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
    int fd = open(paths[i], O_RDONLY);
    if (fd >= 0) {
      printf("opened %s\n", paths[i]);
      opened++;
      close(fd);
    }
  }
  if (!opened) puts("blocked");
  return 0;
}
