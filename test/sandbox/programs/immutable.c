/* Leaves a file the host cannot unlink (FS_IMMUTABLE_FL, needs root: unsafe-exec as root) and
   prints its path: the job folder's removal fails, and the job's result must survive it. */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
int main(void) {
  int fd = open("stuck", O_RDONLY | O_CREAT, 0600);
  int flags = 0;
  if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags)) return perror("stuck"), 1;
  flags |= FS_IMMUTABLE_FL;
  if (ioctl(fd, FS_IOC_SETFLAGS, &flags)) return perror("FS_IOC_SETFLAGS"), 2;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return 3;
  printf("%s/stuck\n", cwd);
  return 0;
}
