/*
 * mcc_inetd_preload.so: lets mccd keep smbd processes started ahead of time.
 *
 * Inert unless MCC_INETD_HANDOFF=1. Then fd 0 of the process is a unix SOCK_SEQPACKET carrier to mccd
 * (inetd-mode smbd only checks that fd 0 is a socket), and the first dup(0) — the call inetd-mode smbd
 * makes once it is fully initialised (source3/smbd/server.c) — first tells mccd "ready", waits for the
 * client's TCP socket over the carrier (SCM_RIGHTS), puts it on fd 0 (closing the carrier, which mccd sees
 * as the handoff completing), and only then does the real dup(0). Nothing else is interposed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int handed_off;

static int receive_client_socket(void) {
  char byte = 'R';
  if (send(0, &byte, 1, MSG_NOSIGNAL) != 1) return -1;
  for (;;) {
    char data[16];
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {data, sizeof(data)};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(0, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (msg.msg_flags & MSG_CTRUNC)) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
      }
    }
  }
}

int dup(int oldfd) {
  static int (*real_dup)(int);
  if (real_dup == NULL) real_dup = (int (*)(int))dlsym(RTLD_NEXT, "dup");
  if (oldfd == 0 && !handed_off) {
    const char *on = getenv("MCC_INETD_HANDOFF");
    if (on != NULL && strcmp(on, "1") == 0) {
      handed_off = 1;
      int client = receive_client_socket();
      if (client < 0) _exit(111); /* mccd went away before giving us a client: nothing to serve */
      if (dup2(client, 0) != 0) _exit(111);
      close(client);
    }
  }
  return real_dup(oldfd);
}
