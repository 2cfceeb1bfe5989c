/* `sluice-run --remove PATH`: removing the trees a program left (docs/sandbox.md, "Cleanup"). */
#include "sluice-run.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REMOVE_DEPTH 64

__attribute__((noreturn)) static void remove_failed(const char *path, const char *name) {
  fprintf(stderr, "sluice-run: cannot remove %s (at %s): %s\n", path, name, strerror(errno));
  exit(1);
}

/*
 * Removes PATH and everything below it, as a program may have left it: deeper than PATH_MAX,
 * symlinks anywhere, folders without permissions. One folder at a time through descriptors
 * (openat, unlinkat; O_NOFOLLOW, so a symlink is removed, never followed); at most REMOVE_DEPTH
 * folders open, deeper ones are moved up to PATH's own level and removed from there; another file
 * system below PATH (a box's disk still mounted) is an error, never emptied.
 */
int remove_tree(const char *path) {
  const char *slash = strrchr(path, '/');
  if (path[0] != '/' || !slash[1]) {
    fprintf(stderr, "sluice-run: --remove needs an absolute path, got %s\n", path);
    return 2;
  }
  char parent_path[PATH_MAX];
  snprintf(parent_path, sizeof parent_path, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  int parent = open(parent_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) remove_failed(path, parent_path);
  static DIR *dirs[REMOVE_DEPTH];
  static char names[REMOVE_DEPTH][NAME_MAX + 1];
  snprintf(names[0], sizeof names[0], "%s", slash + 1);
  int top = openat(parent, names[0], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0 && errno == ENOENT) return 0;
  if (top < 0 && (errno == ENOTDIR || errno == ELOOP)) {
    if (unlinkat(parent, names[0], 0)) remove_failed(path, names[0]);
    return 0;
  }
  struct stat st;
  if (top < 0 || fstat(top, &st) || !(dirs[0] = fdopendir(top))) remove_failed(path, names[0]);
  dev_t dev = st.st_dev;
  unsigned long moved = 0;
  int depth = 1, rescan = 0;
  while (depth) {
    DIR *d = dirs[depth - 1];
    int fd = dirfd(d);
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno) remove_failed(path, names[depth - 1]);
      if (depth == 1 && rescan) { /* folders moved up while it was read */
        rescan = 0;
        rewinddir(d);
        continue;
      }
      closedir(d);
      depth--;
      if (unlinkat(depth ? dirfd(dirs[depth - 1]) : parent, names[depth], AT_REMOVEDIR)) remove_failed(path, names[depth]);
      continue;
    }
    const char *name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    if (!unlinkat(fd, name, 0) || errno == ENOENT) continue;
    if (errno == EACCES && !fchmod(fd, 0700) && (!unlinkat(fd, name, 0) || errno == ENOENT)) continue;
    if (errno != EISDIR) remove_failed(path, name);
    if (depth == REMOVE_DEPTH) {
      char up[64];
      int failed;
      do {
        snprintf(up, sizeof up, ".sluice-removing-%lu", moved++);
        failed = renameat2(fd, name, dirfd(dirs[0]), up, RENAME_NOREPLACE);
      } while (failed && errno == EEXIST);
      if (failed) remove_failed(path, name);
      rescan = 1;
      continue;
    }
    int child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0 && errno == EACCES && !fchmodat(fd, name, 0700, 0)) child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0 || fstat(child, &st)) remove_failed(path, name);
    if (st.st_dev != dev) {
      errno = EXDEV;
      remove_failed(path, name);
    }
    snprintf(names[depth], sizeof names[depth], "%s", name);
    if (!(dirs[depth] = fdopendir(child))) remove_failed(path, name);
    depth++;
  }
  return 0;
}
