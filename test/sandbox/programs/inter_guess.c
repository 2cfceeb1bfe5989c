/*
 * An interactor (soc N r1 w1 ... rN wN): the test's input holds a secret number; each of the N
 * copies of the program, in turn, first says its index (its argv[1]), then guesses, and is told
 * "<" (lower), ">" (higher) or "=". Prints the verdict: "OK\nguessed by N\n100", or "WRONG\n...".
 * On the end of a copy's answers it still writes, so that a program that quit kills it by SIGPIPE.
 * -DCRASH: crashes at once. -DSILENT: says nothing and exits 0. -DSPIN: loops forever once the
 * copies are done (before its verdict).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
#ifdef CRASH
  raise(SIGSEGV);
#endif
#ifdef SILENT
  return 0;
#endif
  int n = atoi(argv[1]);
  long secret;
  if (argc != 2 + 2 * n || scanf("%ld", &secret) != 1) return 2;
  for (int i = 0; i < n; i++) {
    FILE *in = fdopen(atoi(argv[2 + 2 * i]), "r"), *out = fdopen(atoi(argv[3 + 2 * i]), "w");
    int who = -1;
    if (fscanf(in, "%d", &who) != 1) {
      fputs("?\n", out);
      fflush(out);
    }
    if (who != i) {
      printf("WRONG\ncopy %d says it is %d\n", i, who);
      return 0;
    }
    for (int guesses = 0;; guesses++) {
      long g;
      if (guesses == 30) {
        printf("WRONG\ntoo many guesses\n");
        return 0;
      }
      if (fscanf(in, "%ld", &g) != 1) {
        fputs("?\n", out); /* the program is gone: SIGPIPE */
        fflush(out);
        printf("WRONG\nno answer\n");
        return 0;
      }
      fputs(g == secret ? "=\n" : g > secret ? "<\n" : ">\n", out);
      fflush(out);
      if (g == secret) break;
    }
    fclose(in);
    fclose(out);
  }
#ifdef SPIN
  for (volatile unsigned long x = 0;; x++) {}
#endif
  printf("OK\nguessed by %d\n100\n", n);
  return 0;
}
