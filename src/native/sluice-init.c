/*
 * sluice-init: pid 1 of a sandbox. bwrap runs it with --as-pid-1, in place of its own init:
 *
 *   sluice-init FD PROGRAM [ARGS...]
 *
 * Why not bwrap's init: it reports a signal death as exit code 128+N, so exit(152) and SIGXCPU
 * look the same; and it is dumpable, so a program that can open /proc/1/mem (SLUICE_SANDBOX_PROC=1)
 * can make it run code whose CPU the supervisor counts as the sandbox's own. This init is not
 * dumpable (the program, same uid but without capabilities, cannot open its memory), forks the
 * program, reaps every process of the namespace, and writes on FD (a pipe to the supervisor):
 *   "S\n"          once the program is forked (the supervisor then takes this process and bwrap
 *                  out of the OOM killer's choice: the program did not inherit that);
 *   "W<status>\n"  the program's wait status, when it ends; then this init exits, which ends the
 *                  pid namespace and every process left in it.
 * FD is close-on-exec, so the program never holds it.
 *
 * On x86_64 and aarch64 it uses no libc: glibc's start-up (CPU feature probing) costs ~0.6 ms per
 * run on the development VM, measured in docs/sandbox.md; elsewhere it is an ordinary program.
 */
#if (defined(__x86_64__) || defined(__aarch64__)) && !defined(SLUICE_INIT_LIBC)
#include <asm/unistd.h>

typedef long word;

static word sys(word n, word a, word b, word c, word d) {
  word ret;
#if defined(__x86_64__)
  register word r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
#else
  register word x8 __asm__("x8") = n;
  register word x0 __asm__("x0") = a;
  register word x1 __asm__("x1") = b;
  register word x2 __asm__("x2") = c;
  register word x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  ret = x0;
#endif
  return ret;
}

#define PR_SET_DUMPABLE 4
#define F_SETFD 2
#define FD_CLOEXEC 1
#define SIGCHLD 17
#define EINTR 4

__attribute__((noreturn)) static void leave(int code) {
  for (;;) sys(__NR_exit_group, code, 0, 0, 0);
}

static int writes(int fd, const char *s) {
  int n = 0;
  while (s[n]) n++;
  return (int)sys(__NR_write, fd, (word)s, n, 0);
}

static word spawn(void) {
#ifdef __NR_fork
  return sys(__NR_fork, 0, 0, 0, 0);
#else
  return sys(__NR_clone, SIGCHLD, 0, 0, 0);
#endif
}

static int number(const char *s) {
  int n = 0;
  while (*s >= '0' && *s <= '9') n = n * 10 + (*s++ - '0');
  return n;
}

/* "<prefix><n>\n" into buf. */
static void format(char *buf, char prefix, unsigned n) {
  char digits[12];
  int k = 0, i = 0;
  do digits[k++] = (char)('0' + n % 10), n /= 10;
  while (n);
  buf[i++] = prefix;
  while (k) buf[i++] = digits[--k];
  buf[i++] = '\n';
  buf[i] = 0;
}

__attribute__((used)) void init_main(word *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
  if (argc < 3) leave(126);
  int fd = number(argv[1]);
  sys(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0);
  sys(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC, 0);
  word pid = spawn();
  if (pid == 0) {
    word err = sys(__NR_execve, (word)argv[2], (word)(argv + 2), (word)envp, 0);
    char line[16];
    format(line, ' ', (unsigned)-err);
    writes(2, "sluice-init: cannot execute ");
    writes(2, argv[2]);
    writes(2, ": errno");
    writes(2, line);
    leave(127);
  }
  if (pid < 0) leave(126);
  writes(fd, "S\n");
  for (;;) {
    int status = 0;
    word got = sys(__NR_wait4, -1, (word)&status, 0, 0);
    if (got == pid) {
      char line[16];
      format(line, 'W', (unsigned)status);
      writes(fd, line);
      leave((status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff);
    }
    if (got < 0 && got != -EINTR) leave(126);
  }
}

#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call init_main\n  hlt\n");
#else
__asm__(".globl _start\n_start:\n  mov x0, sp\n  bl init_main\n  brk #0\n");
#endif

#else /* other architectures: the same with libc */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 3) return 126;
  int fd = atoi(argv[1]);
  prctl(PR_SET_DUMPABLE, 0);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    execve(argv[2], argv + 2, environ);
    dprintf(2, "sluice-init: cannot execute %s: errno %d\n", argv[2], errno);
    _exit(127);
  }
  if (pid < 0) return 126;
  dprintf(fd, "S\n");
  for (;;) {
    int status = 0;
    pid_t got = wait(&status);
    if (got == pid) {
      dprintf(fd, "W%u\n", (unsigned)status);
      return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    if (got < 0 && errno != EINTR) return 126;
  }
}
#endif
