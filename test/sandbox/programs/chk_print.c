/* Checker that prints what CHK_OUTPUT (set at compile time) says and exits with CHK_EXIT. */
#include <stdio.h>
int main(void) {
  fputs(CHK_OUTPUT, stdout);
  return CHK_EXIT;
}
