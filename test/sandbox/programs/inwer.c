/* An input verifier (sioworkers' inwer.c): the input is one number from 0 to 100. -DNEED_ARG: argv[1] must be "inwer_ok". */
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
#ifdef NEED_ARG
  if (argc < 2 || strcmp(argv[1], "inwer_ok")) {
    printf("WRONG\nthe input's name is %s\n", argc < 2 ? "missing" : argv[1]);
    return 0;
  }
#endif
  (void)argc, (void)argv;
  long n;
  if (scanf("%ld", &n) != 1 || n < 0 || n > 100) {
    printf("WRONG\nnot a number from 0 to 100\n");
    return 0;
  }
  printf("OK\n");
  return 0;
}
