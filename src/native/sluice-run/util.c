/* Small helpers shared by every part of the helper. */
#include "sluice-run.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long self_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ASCII-only JSON: every byte outside printable ASCII is escaped, so no report is invalid UTF-8. */
void json_str(void *file, const char *s) {
  FILE *f = file;
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* Writes {"error": ...} and exits: the caller turns it into SE. */
void die(const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f) {
    fputs(report_prefix, f);
    fputs("\"error\":", f);
    json_str(f, msg);
    fputs("}\n", f);
    fclose(f);
    if (write(report_fd, buf, len) < 0) { /* nothing more to do */ }
  }
  exit(70);
}

long long num(const char *opt, const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0) die("option %s: not a number: %s", opt, s);
  return v;
}

int write_file(const char *dir, const char *name, const char *value) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, value, strlen(value));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Reads a small file into buf; returns its length or -1. */
ssize_t read_file(const char *dir, const char *name, char *buf, size_t size) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* The number after `key` in a "key value" listing (memory.events, oom_control, cpu.stat). */
long long field(const char *text, const char *key) {
  size_t k = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (!strncmp(p, key, k) && p[k] == ' ') return atoll(p + k + 1);
  }
  return -1;
}

int write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Appends what a non-blocking pipe holds to buf (NUL-terminated, at most size - 1 bytes kept). */
void drain(int fd, char *buf, size_t size, size_t *len) {
  ssize_t n;
  while (*len < size - 1 && (n = read(fd, buf + *len, size - 1 - *len)) > 0) *len += (size_t)n;
  buf[*len] = 0;
}
