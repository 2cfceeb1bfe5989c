/*
 * Each run's bounded file system. A box lives on a file system of its own: a copy of a small ext4
 * template (sparse: a few hundred KiB of data), loop-mounted where the host can still read it
 * after the run, unmounted as a whole afterwards. It bounds what a run can put on the host's disk
 * (exactly, with the ballast of disk_prepare), and its pages are ordinary page cache, not tmpfs
 * pages charged to the program's memory cgroup. The image file is unlinked as soon as the loop
 * device holds it, so a killed helper leaves no file behind, only a mount that the next probe
 * sweeps (its name holds the owner's pid). Mounting takes ~1.5 ms and unmounting ~2 ms here (both
 * wait for RCU grace periods), so the server keeps one disk ready and does both in children, off
 * a request's path. Why this and what it costs: docs/sandbox.md, "Disk".
 */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------- during a run ---------- */

/* What the program may write beyond --disk-limit before ENOSPC, so that going over is seen. */
#define DISK_MARGIN (1LL << 20)

int disk_fd = -1;
static long long disk_free_at_start;
long long disk_peak;

static long long disk_free(struct statfs *st) {
  return fstatfs(disk_fd, st) ? -1 : (long long)st->f_bavail * (long long)st->f_bsize;
}

/* The file system is larger than the limit (files were put there before the run, and its size comes
   in steps); a root-owned ballast outside box/ and tmp/ takes the rest, so what the program can add
   is exactly limit + DISK_MARGIN, however fast it writes or reserves (fallocate). */
void disk_prepare(void) {
  disk_fd = open(o.disk_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (disk_fd < 0) die("cannot open the run's disk %s: %s", o.disk_dir, strerror(errno));
  int ballast = openat(disk_fd, ".ballast", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat bst;
  struct statfs st;
  if (ballast < 0 || fstat(ballast, &bst)) die("cannot make the disk's ballast in %s: %s", o.disk_dir, strerror(errno));
  long long want = o.disk_limit + DISK_MARGIN, size = (long long)bst.st_blocks * 512 + disk_free(&st) - want;
  if (size < 0)
    die("the run's disk has %lld bytes free for a limit of %lld: the files put in the box take too much room",
        disk_free(&st), o.disk_limit);
  if (size < bst.st_size ? ftruncate(ballast, size) : fallocate(ballast, 0, 0, size))
    die("cannot size the disk's ballast: %s", strerror(errno));
  close(ballast);
  disk_free_at_start = disk_free(&st);
}

/* Bytes the program added (kept at its peak); out of inodes counts as over the limit. */
int disk_over(void) {
  struct statfs st;
  long long free_now = disk_free(&st);
  if (free_now < 0) return 0;
  if (disk_free_at_start - free_now > disk_peak) disk_peak = disk_free_at_start - free_now;
  return disk_peak > o.disk_limit || (st.f_files && !st.f_ffree);
}

/* ---------- the server: making and releasing disks ---------- */



/* Copies the data extents of a sparse file; returns NULL or why not. */
static const char *copy_sparse(int from, int to) {
  static char buf[1 << 16];
  struct stat st;
  if (fstat(from, &st) || ftruncate(to, st.st_size)) return strerror(errno);
  for (off_t pos = 0;;) {
    off_t data = lseek(from, pos, SEEK_DATA);
    if (data < 0) return errno == ENXIO ? NULL : strerror(errno);
    off_t hole = lseek(from, data, SEEK_HOLE);
    if (hole < 0) return strerror(errno);
    for (off_t at = data; at < hole;) {
      size_t want = hole - at < (off_t)sizeof buf ? (size_t)(hole - at) : sizeof buf;
      ssize_t n = pread(from, buf, want, at);
      if (n <= 0) return n ? strerror(errno) : "the template ended early";
      if (pwrite(to, buf, (size_t)n, at) != n) return strerror(errno);
      at += n;
    }
    pos = hole;
  }
}

/* A free loop device backed by `img`, detached by the kernel when its last user goes. */
static int loop_attach(int img, char *dev, size_t size, const char **why) {
  static char msg[128];
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) return snprintf(msg, sizeof msg, "cannot open /dev/loop-control: %s", strerror(errno)), *why = msg, -1;
  /* Buffered, not LO_FLAGS_DIRECT_IO: the image's pages stay in the page cache and die with the
     unlinked file, so a short run causes no I/O on the host's disk at all (direct I/O would write
     every block the box touches, and flush the copied template before the first read). */
  unsigned flags = LO_FLAGS_AUTOCLEAR;
  for (int tries = 0; tries < 64; tries++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) break;
    snprintf(dev, size, "/dev/loop%d", n);
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) { /* its node is not there yet */
      usleep(500);
      continue;
    }
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (unsigned)img;
    config.info.lo_flags = flags;
    if (!ioctl(fd, LOOP_CONFIGURE, &config)) {
      close(ctl);
      return fd;
    }
    int err = errno;
    close(fd);
    if (err != EBUSY) { /* EBUSY: another process took it first */
      snprintf(msg, sizeof msg, "cannot set up %s: %s", dev, strerror(err));
      close(ctl);
      return *why = msg, -1;
    }
  }
  snprintf(msg, sizeof msg, "no free loop device: %s", strerror(errno));
  close(ctl);
  return *why = msg, -1;
}

/* Mounts a copy of `template` on a new folder `mnt`, with box/ and tmp/ owned by `uid`. Dies with the reason. */
static void disk_attach(const char *mnt, const char *template, const char *backing, uid_t uid) {
  int from = open(template, O_RDONLY | O_CLOEXEC);
  if (from < 0) die("cannot open the disk template %s: %s", template, strerror(errno));
  if (mkdir(mnt, 0700)) die("cannot create %s: %s", mnt, strerror(errno));
  int img = open(backing, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  const char *why = img < 0 ? strerror(errno) : copy_sparse(from, img);
  close(from);
  char dev[32];
  int loop = why ? -1 : loop_attach(img, dev, sizeof dev, &why);
  unlink(backing); /* the loop device holds it now; its space comes back when the device goes */
  if (img >= 0) close(img);
  /* discard: what the program deletes is punched out of the image, so that the image never holds more
     than the disk holds now (without it, writing and deleting 150 MiB three times left 375 MiB). */
  int failed = why ? 0 : mount(dev, mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "noinit_itable,discard") ? errno : 0;
  if (loop >= 0) close(loop); /* LO_FLAGS_AUTOCLEAR: the device goes with the mount, or now if there is none */
  if (failed) why = strerror(failed);
  int root = why ? -1 : open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int ok = root >= 0 && !fchmod(root, 0711);
  for (const char *const *name = (const char *const[]){"box", "tmp", NULL}; ok && *name; name++)
    ok = !mkdirat(root, *name, 0700) && !fchownat(root, *name, uid, uid, AT_SYMLINK_NOFOLLOW);
  if (!why && !ok) why = strerror(errno);
  if (root >= 0) close(root);
  if (!why) return;
  umount2(mnt, MNT_DETACH);
  rmdir(mnt);
  die("cannot make a disk on %s: %s", mnt, why);
}

/* Lazy: the mount is gone from the tree at once; the file system, its loop device and its image
   go when the last reference (a sandbox's mount namespace being torn down) is gone. */
void disk_detach(const char *mnt) {
  if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) && errno != EINVAL) die("cannot unmount %s: %s", mnt, strerror(errno));
  rmdir(mnt);
}

/* The server's own descriptors, which its helper children must not hold: above all the spare's
   request pipe, whose end the spare waits for before it runs. */
int server_fds[2] = {-1, -1};

pid_t server_fork(int devnull) {
  pid_t pid = fork();
  if (pid) return pid;
  for (int i = 0; i < 2; i++)
    if (server_fds[i] >= 0) close(server_fds[i]);
  dup2(devnull, 0);
  dup2(devnull, 1);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  return 0;
}

/* The served helper's ready disk: one, for the template asked for last. */
static struct {
  char template[PATH_MAX], path[PATH_MAX];
  uid_t uid;
  pid_t preparing;
  int ready;
} pool;
static unsigned long disks_made;

/* Names a new disk next to its template: disk-OWNER-SERVER.N (the owner is the server's caller),
   and its image run-OWNER-SERVER.N.img (the probe's sweep reads OWNER back). */
static void disk_names(const char *template, char *mnt, char *backing) {
  const char *slash = strrchr(template, '/');
  int home = slash ? (int)(slash - template) : 0;
  unsigned long n = ++disks_made;
  snprintf(mnt, PATH_MAX, "%.*s/disk-%d-%d.%lu", home, template, (int)getppid(), (int)getpid(), n);
  snprintf(backing, PATH_MAX, "%.*s/run-%d-%d.%lu.img", home, template, (int)getppid(), (int)getpid(), n);
}

/* Writes {<prefix> "disk": VALUE} or {<prefix> "error": VALUE} on `report`, in one write. */
static int disk_reply(int report, const char *key, const char *value) {
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&line, &len);
  if (!f) return -1;
  fprintf(f, "%s\"%s\":", report_prefix, key);
  json_str(f, value);
  fputs("}\n", f);
  fclose(f);
  int rc = write_all(report, line, len);
  free(line);
  return rc;
}

/* The name of a disk's folder next to its template: what a take answers (ASCII, unlike the path). */
static const char *disk_name(const char *mnt) {
  const char *slash = strrchr(mnt, '/');
  return slash ? slash + 1 : mnt;
}

/* Forks a child that makes a disk; it reports {"disk": NAME} when `report` >= 0. */
static pid_t disk_fork(const char *template, uid_t uid, char *mnt, int report, int devnull) {
  char backing[PATH_MAX];
  disk_names(template, mnt, backing);
  pid_t pid = server_fork(devnull);
  if (pid) return pid;
  report_fd = report >= 0 ? report : devnull;
  disk_attach(mnt, template, backing, uid);
  _exit(report >= 0 && disk_reply(report, "disk", disk_name(mnt)) ? 70 : 0);
}

/* Starts making the next ready disk, unless one is ready or on its way. */
static void pool_refill(const char *template, uid_t uid, int devnull) {
  if (pool.preparing || (pool.ready && !strcmp(pool.template, template))) return;
  if (pool.ready) { /* for another template: not wanted any more */
    if (!server_fork(devnull)) {
      disk_detach(pool.path);
      _exit(0);
    }
    pool.ready = 0;
  }
  snprintf(pool.template, sizeof pool.template, "%s", template);
  pool.uid = uid;
  pool.preparing = disk_fork(template, uid, pool.path, -1, devnull);
  if (pool.preparing < 0) pool.preparing = 0;
}

/*
 * A served disk request (argv[0] is the request's id): "--disk-take TEMPLATE UID" answers
 * {"disk": NAME} with a disk mounted next to the template (the ready one at once, else a child
 * makes one) and refills the pool; "--disk-detach PATH" answers at once and unmounts in a child.
 * Returns the pid of a child that will report, 0 when answered here, -1 on a bad request.
 */
pid_t disk_request(int argc, char **argv, int report, int devnull) {
  if (argc == 4 && !strcmp(argv[1], "--disk-take")) {
    uid_t uid = (uid_t)atoll(argv[3]);
    pid_t child = 0;
    if (pool.ready && !strcmp(pool.template, argv[2])) {
      char why[PATH_MAX + 64] = "";
      for (const char *const *name = (const char *const[]){"box", "tmp", NULL}; *name && pool.uid != uid && !*why; name++) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/%s", pool.path, *name);
        if (lchown(path, uid, uid)) snprintf(why, sizeof why, "cannot give %s to uid %d: %s", path, (int)uid, strerror(errno));
      }
      pool.ready = 0;
      disk_reply(report, *why ? "error" : "disk", *why ? why : disk_name(pool.path));
      if (*why && !server_fork(devnull)) {
        disk_detach(pool.path);
        _exit(0);
      }
    } else {
      char mnt[PATH_MAX];
      child = disk_fork(argv[2], uid, mnt, report, devnull);
    }
    pool_refill(argv[2], uid, devnull);
    return child;
  }
  if (argc == 3 && !strcmp(argv[1], "--disk-detach")) {
    char line[256];
    int len = snprintf(line, sizeof line, "%s\"disk\":\"detached\"}\n", report_prefix);
    write_all(report, line, (size_t)len);
    if (!server_fork(devnull)) {
      disk_detach(argv[2]);
      _exit(0);
    }
    return 0;
  }
  return -1;
}

/* The server reaped `pid`: if it was making the ready disk, the disk is ready when it succeeded. */
void disk_pool_reaped(pid_t pid, int status) {
  if (pid != pool.preparing) return;
  pool.preparing = 0;
  pool.ready = WIFEXITED(status) && !WEXITSTATUS(status);
}

/* The server is stopping: the ready disk (once made) is unmounted. */
void disk_pool_release(void) {
  int st;
  if (pool.preparing && waitpid(pool.preparing, &st, 0) > 0) pool.ready = WIFEXITED(st) && !WEXITSTATUS(st);
  if (pool.ready) disk_detach(pool.path);
}
