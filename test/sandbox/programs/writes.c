/* Tries to write outside and inside its box; prints what worked, its uid and its effective capabilities. */
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void try(const char *label, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    printf("wrote %s\n", label);
    close(fd);
  }
}
int main(void) {
  try("usr", "/usr/lib/sluice-sandbox-probe");
  try("etc", "/etc/sluice-sandbox-probe");
  try("root", "/sluice-sandbox-probe");
  try("dev", "/dev/sluice-sandbox-probe");
  try("box", "box-probe");
  try("tmp", "/tmp/sluice-sandbox-private-probe");
  printf("uid=%d\n", (int)getuid());
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {{0}};
  if (syscall(SYS_capget, &hdr, data) == 0) printf("caps=%x%08x\n", data[1].effective, data[0].effective);
  return 0;
}
