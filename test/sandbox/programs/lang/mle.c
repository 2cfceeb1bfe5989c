/* Touches 256 MiB, page by page. */
#include <stdlib.h>
int main(void) { size_t n = 256u << 20; volatile char *p = malloc(n); for (size_t i = 0; p && i < n; i += 4096) p[i] = 1; return p ? 0 : 3; }
