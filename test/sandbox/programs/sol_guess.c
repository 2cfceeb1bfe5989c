/*
 * A program for inter_guess: says its index (argv[1]), then finds the secret in 1..10^6 by halving.
 * -DDUMB: guesses 1, 2, 3... (too many). -DQUIT: says its index and exits. -DCRASH: crashes after
 * its index. -DSPIN: loops forever. -DDEADLOCK: waits for the interactor, which waits for it.
 */
#include <signal.h>
#include <stdio.h>
int main(int argc, char **argv) {
  char reply[8];
#ifdef DEADLOCK
  if (scanf("%7s", reply) != 1) return 1;
#endif
  printf("%s\n", argc > 1 ? argv[1] : "?");
  fflush(stdout);
#ifdef QUIT
  return 0;
#endif
#ifdef CRASH
  raise(SIGSEGV);
#endif
#ifdef SPIN
  for (volatile unsigned long x = 0;; x++) {}
#endif
  long lo = 1, hi = 1000000;
  for (long step = 1;; step++) {
#ifdef DUMB
    long g = step;
#else
    long g = (lo + hi) / 2;
#endif
    printf("%ld\n", g);
    fflush(stdout);
    if (scanf("%7s", reply) != 1) return 1;
    if (reply[0] == '=') return 0;
    if (reply[0] == '<') hi = g - 1;
    else lo = g + 1;
  }
}
