/* Checker that accepts and says where it runs: "host" when it can read /etc/passwd, else "sandboxed". */
#include <stdio.h>
int main(void) {
  FILE *f = fopen("/etc/passwd", "r");
  printf("OK\n%s\n", f ? "host" : "sandboxed");
  return 0;
}
