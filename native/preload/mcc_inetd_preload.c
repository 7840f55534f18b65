/*
 * mcc_inetd_preload.so: lets mccd keep smbd processes ready ahead of time without an exec per client.
 *
 * Inert unless MCC_INETD_HANDOFF=zygote. Then fd 0 of the process is a unix SOCK_SEQPACKET carrier to mccd
 * (inetd-mode smbd only checks that fd 0 is a socket), and the first dup(0) — the call inetd-mode smbd
 * makes once it is fully initialised (source3/smbd/server.c) — turns the process into a zygote: it tells
 * mccd "Z" and from then on runs smbd's event loop, as smbd's parent does, answering fork orders from it.
 * Running the loop matters: an `smbd -i` keeps its notify daemon (and cleanupd) in process, so the zygote
 * is the notify daemon every member reports changes to. Nothing but dup(0) is interposed.
 *
 *   mccd -> zygote   "F" + SCM_RIGHTS(member carrier)   fork one member that will use this carrier
 *   zygote -> mccd   "P" + pid (int32, host order)     the member's pid, or "E" + errno when fork failed
 *   member -> mccd   "R"                                on its own carrier: re-initialised, waiting
 *   mccd -> member   "C" + SCM_RIGHTS(client socket)   the member puts it on fd 0 and returns from dup(0)
 *
 * A member is a child of the zygote re-initialised the way smbd's own daemon re-initialises the child it
 * forks per connection (smbd_reinit_after_fork: new messaging identity, tdbs reopened, tevent re-armed),
 * in a session of its own so that restarting the zygote never touches members serving clients. A waiting
 * member runs smbd's event loop too, so it exits when smbd's own processes would (ctdbd gone). The exec
 * and the start-up of smbd (~25 ms of CPU) are paid once per zygote, not once per client.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef uint32_t samba_ntstatus; /* NTSTATUS is a 32-bit value (a one-member struct in developer builds) */

/* struct server_id (librpc/idl/server_id.idl) */
struct samba_server_id {
  uint64_t pid;
  uint32_t task_id;
  uint32_t vnn;
  uint64_t unique_id;
};

struct samba_entry_points {
  void *(*global_event_context)(void);
  void *(*global_messaging_context)(void);
  samba_ntstatus (*smbd_reinit_after_fork)(void *msg, void *ev, bool parent_longlived, const char *comment);
  void *(*talloc_stackframe)(const char *location);
  int (*talloc_free)(void *ptr, const char *location);
  void *(*tevent_add_fd)(void *ev, void *mem_ctx, int fd, uint16_t flags,
                         void (*handler)(void *ev, void *fde, uint16_t flags, void *private_data),
                         void *private_data, const char *handler_name, const char *location);
  int (*tevent_loop_once)(void *ev, const char *location);
  /* For the notify-daemon check; without them the check is skipped. */
  void *(*messaging_names_db)(void *msg);
  struct samba_server_id (*messaging_server_id)(const void *msg);
  bool (*server_id_db_lookup_one)(void *db, const char *name, struct samba_server_id *server);
  bool (*server_id_equal)(const struct samba_server_id *a, const struct samba_server_id *b);
  /* For telling cleanupd about members that exited; without them nobody is told (as before). */
  void *(*tevent_add_signal)(void *ev, void *mem_ctx, int signum, int sa_flags,
                             void (*handler)(void *ev, void *se, int signum, int count, void *siginfo,
                                             void *private_data),
                             void *private_data, const char *handler_name, const char *location);
  bool (*cleanupdb_store_child)(pid_t pid, bool unclean);
  samba_ntstatus (*messaging_send_buf)(void *msg, struct samba_server_id server, uint32_t msg_type,
                                       const uint8_t *buf, size_t len);
};

/* librpc/idl/messaging.idl: tells cleanupd that children listed in cleanupdb exited. */
#define MSG_SMB_NOTIFY_CLEANUP 0x0314

#define TEVENT_FD_READ 1
#define HERE "mcc_inetd_preload"

/* Set in a freshly forked member, inside the zygote's event loop: the carrier it is to serve on. */
static int forked_member_carrier = -1;

static int entered;

static bool resolve(struct samba_entry_points *s) {
  s->global_event_context = (void *(*)(void))dlsym(RTLD_DEFAULT, "global_event_context");
  s->global_messaging_context = (void *(*)(void))dlsym(RTLD_DEFAULT, "global_messaging_context");
  s->smbd_reinit_after_fork =
      (samba_ntstatus(*)(void *, void *, bool, const char *))dlsym(RTLD_DEFAULT, "smbd_reinit_after_fork");
  s->talloc_stackframe = (void *(*)(const char *))dlsym(RTLD_DEFAULT, "_talloc_stackframe");
  s->talloc_free = (int (*)(void *, const char *))dlsym(RTLD_DEFAULT, "_talloc_free");
  *(void **)&s->tevent_add_fd = dlsym(RTLD_DEFAULT, "_tevent_add_fd");
  *(void **)&s->tevent_loop_once = dlsym(RTLD_DEFAULT, "_tevent_loop_once");
  *(void **)&s->messaging_names_db = dlsym(RTLD_DEFAULT, "messaging_names_db");
  *(void **)&s->messaging_server_id = dlsym(RTLD_DEFAULT, "messaging_server_id");
  *(void **)&s->server_id_db_lookup_one = dlsym(RTLD_DEFAULT, "server_id_db_lookup_one");
  *(void **)&s->server_id_equal = dlsym(RTLD_DEFAULT, "server_id_equal");
  *(void **)&s->tevent_add_signal = dlsym(RTLD_DEFAULT, "_tevent_add_signal");
  *(void **)&s->cleanupdb_store_child = dlsym(RTLD_DEFAULT, "cleanupdb_store_child");
  *(void **)&s->messaging_send_buf = dlsym(RTLD_DEFAULT, "messaging_send_buf");
  return s->global_event_context && s->global_messaging_context && s->smbd_reinit_after_fork &&
         s->talloc_stackframe && s->talloc_free && s->tevent_add_fd && s->tevent_loop_once;
}

/* mccd's ends are non-blocking; ours wait. */
static void make_blocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

static int send_tagged(int fd, char tag, const void *body, size_t len) {
  char buf[8];
  buf[0] = tag;
  memcpy(buf + 1, body, len);
  return send(fd, buf, 1 + len, MSG_NOSIGNAL) == (ssize_t)(1 + len) ? 0 : -1;
}

/*
 * One message with exactly one descriptor and the expected tag; -1 on EOF, error or anything else, -2 when
 * nothing is waiting (MSG_DONTWAIT).
 */
static int receive_fd(int carrier, char tag, int flags) {
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
    ssize_t n = recvmsg(carrier, &msg, MSG_CMSG_CLOEXEC | flags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
    if (n <= 0 || (msg.msg_flags & MSG_CTRUNC)) return -1;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
    }
    if (data[0] == tag && fd >= 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
  }
}

/* Set in a waiting member, inside its event loop: the client socket mccd sent. */
static int member_client = -1;

static void on_client_socket(void *ev, void *fde, uint16_t flags, void *private_data) {
  (void)ev;
  (void)fde;
  (void)flags;
  (void)private_data;
  int client = receive_fd(0, 'C', MSG_DONTWAIT);
  if (client == -2) return;
  if (client < 0) _exit(111); /* mccd went away (or discarded us) before giving us a client */
  member_client = client;
}

/*
 * A waiting member runs smbd's event loop, not a blocking recvmsg: with `clustering = yes` its connection
 * to ctdbd is watched there, and when ctdbd goes away the member exits as smbd's own children do (a
 * member blocked in recvmsg would only find out when its first client's NEGOTIATE failed).
 */
static int wait_for_client(const struct samba_entry_points *s) {
  void *ev = s->global_event_context();
  void *fde = s->tevent_add_fd(ev, NULL, 0, TEVENT_FD_READ, on_client_socket, NULL, "mcc client socket", HERE);
  if (fde == NULL) _exit(111);
  while (member_client < 0) {
    void *frame = s->talloc_stackframe(HERE);
    int rc = s->tevent_loop_once(ev, HERE);
    s->talloc_free(frame, HERE);
    if (rc != 0 && member_client < 0) {
      fprintf(stderr, "mcc_inetd_preload: a waiting member's event loop failed: %s\n", strerror(errno));
      _exit(114);
    }
  }
  s->talloc_free(fde, HERE);
  return member_client;
}

/* In the forked child: become a member on `carrier`, return once the client socket is on fd 0. */
static void become_member(const struct samba_entry_points *s, int carrier) {
  setsid();
  if (dup2(carrier, 0) != 0) _exit(113);
  close(carrier);
  make_blocking(0);
  void *frame = s->talloc_stackframe(HERE);
  samba_ntstatus status = s->smbd_reinit_after_fork(s->global_messaging_context(), s->global_event_context(),
                                                    true, NULL);
  s->talloc_free(frame, HERE);
  if (status != 0) {
    fprintf(stderr, "mcc_inetd_preload: smbd_reinit_after_fork failed: NTSTATUS 0x%08x\n", status);
    _exit(113);
  }
  if (send_tagged(0, 'R', NULL, 0) != 0) _exit(111);
  int client = wait_for_client(s);
  if (dup2(client, 0) != 0) _exit(111);
  close(client);
}

/* Called from the zygote's event loop when mccd's carrier is readable. */
static void on_fork_order(void *ev, void *fde, uint16_t flags, void *private_data) {
  (void)ev;
  (void)fde;
  (void)flags;
  (void)private_data;
  int carrier = receive_fd(0, 'F', MSG_DONTWAIT);
  if (carrier == -2) return;
  if (carrier < 0) _exit(0); /* mccd closed the carrier: nothing more to serve */
  pid_t pid = fork();
  if (pid == 0) {
    forked_member_carrier = carrier; /* leave the loop in the child */
    return;
  }
  close(carrier);
  if (pid < 0) {
    int32_t e = errno;
    send_tagged(0, 'E', &e, sizeof(e));
  } else {
    int32_t p = pid;
    send_tagged(0, 'P', &p, sizeof(p));
  }
}

/*
 * Members find the notify daemon by name when a client connects a tree to a share with change notify,
 * and an `smbd -i` runs it in process: the zygote must be the one holding the name. Another smbd holds it when mccd spawned one per
 * connection while no zygote was up; once that one exits nobody would, and every tree connect of a
 * member would fail (NT_STATUS_NO_MEMORY from notify_init). Exiting lets mccd start the zygote again
 * later, when the name is free.
 */
static void require_notify_daemon(const struct samba_entry_points *s) {
  if (!s->messaging_names_db || !s->messaging_server_id || !s->server_id_db_lookup_one || !s->server_id_equal)
    return;
  void *msg = s->global_messaging_context();
  struct samba_server_id me = s->messaging_server_id(msg);
  struct samba_server_id holder;
  memset(&holder, 0, sizeof(holder));
  if (s->server_id_db_lookup_one(s->messaging_names_db(msg), "notify-daemon", &holder) &&
      s->server_id_equal(&holder, &me))
    return;
  fprintf(stderr,
          "mcc_inetd_preload: the notify daemon is not this smbd (held by pid %llu); exiting so that mccd "
          "starts the zygote again once the name is free\n",
          (unsigned long long)holder.pid);
  _exit(115);
}

static const struct samba_entry_points *zygote_entry_points;

/*
 * SIGCHLD in the zygote, from its event loop: what smbd's parent does for each child it reaps
 * (remove_child_pid in source3/smbd/server.c). The child goes into cleanupdb, marked unclean when it
 * was killed or exited non-zero, and cleanupd — in process in an `smbd -i` — is told, so it removes the
 * dead process's messaging sockets and, after an unclean exit, what it left behind. Without this, a
 * member killed while serving a client left its traces until someone tripped over them.
 */
static void on_child_exit(void *ev, void *se, int signum, int count, void *siginfo, void *private_data) {
  (void)ev;
  (void)se;
  (void)signum;
  (void)count;
  (void)siginfo;
  (void)private_data;
  const struct samba_entry_points *s = zygote_entry_points;
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    bool unclean = (WIFEXITED(status) && WEXITSTATUS(status) != 0) || WIFSIGNALED(status);
    if (!s->cleanupdb_store_child(pid, unclean)) continue;
    void *msg = s->global_messaging_context();
    s->messaging_send_buf(msg, s->messaging_server_id(msg), MSG_SMB_NOTIFY_CLEANUP, NULL, 0);
  }
}

/* Returns the tevent_signal, or NULL when this smbd lacks what it takes (children are reaped as before). */
static void *watch_children(const struct samba_entry_points *s, void *ev) {
  if (!s->tevent_add_signal || !s->cleanupdb_store_child || !s->messaging_send_buf || !s->messaging_server_id)
    return NULL;
  zygote_entry_points = s;
  return s->tevent_add_signal(ev, NULL, SIGCHLD, 0, on_child_exit, NULL, "mcc member exits", HERE);
}

/* The zygote: smbd's event loop plus fork orders until mccd closes the carrier. Returns only in a member. */
static void serve_fork_orders(void) {
  struct samba_entry_points s;
  if (!resolve(&s)) {
    fprintf(stderr, "mcc_inetd_preload: this smbd lacks smbd_reinit_after_fork and friends; cannot fork members\n");
    _exit(112);
  }
  require_notify_daemon(&s);
  void *ev = s.global_event_context();
  void *fde = s.tevent_add_fd(ev, NULL, 0, TEVENT_FD_READ, on_fork_order, NULL, "mcc fork orders", HERE);
  if (fde == NULL) _exit(112);
  void *child_watch = watch_children(&s, ev);
  make_blocking(0); /* replies are sent blocking; orders are read with MSG_DONTWAIT */
  if (send_tagged(0, 'Z', NULL, 0) != 0) _exit(0);
  while (forked_member_carrier < 0) {
    void *frame = s.talloc_stackframe(HERE);
    int rc = s.tevent_loop_once(ev, HERE);
    s.talloc_free(frame, HERE);
    if (rc != 0 && forked_member_carrier < 0) {
      fprintf(stderr, "mcc_inetd_preload: the zygote's event loop failed: %s\n", strerror(errno));
      _exit(114);
    }
  }
  /*
   * In the member: fd 0 is about to become its own carrier; the zygote's watch on it must not follow, nor
   * its SIGCHLD handler (freeing it gives back smbd's own, which reaps the member's children).
   */
  s.talloc_free(fde, HERE);
  if (child_watch != NULL) s.talloc_free(child_watch, HERE);
  become_member(&s, forked_member_carrier);
}

int dup(int oldfd) {
  static int (*real_dup)(int);
  if (real_dup == NULL) real_dup = (int (*)(int))dlsym(RTLD_NEXT, "dup");
  if (oldfd == 0 && !entered) {
    const char *mode = getenv("MCC_INETD_HANDOFF");
    if (mode != NULL && strcmp(mode, "zygote") == 0) {
      entered = 1;
      serve_fork_orders();
    }
  }
  return real_dup(oldfd);
}
