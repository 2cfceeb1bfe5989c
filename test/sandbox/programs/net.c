/* Connects to 127.0.0.1:PORT (from stdin) and sends "hello"; prints "connected" or "blocked <errno>". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int port = 0;
  if (scanf("%d", &port) != 1) return 100;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) {
    printf("blocked %s\n", strerror(errno));
    return 0;
  }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) {
    printf("blocked %s\n", strerror(errno));
    return 0;
  }
  if (write(s, "hello", 5) != 5) return 1;
  puts("connected");
  close(s);
  return 0;
}
