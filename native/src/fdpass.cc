// SCM_RIGHTS over unix SOCK_SEQPACKET carriers. Every carrier fd is non-blocking and close-on-exec;
// EAGAIN is returned to the caller (null / -1) so it can wait for readiness with a FdWatcher instead of
// letting libuv read the carrier (libuv reading a carrier would drop the passed descriptors).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vector>

#include "common.h"

namespace mcc {
namespace {

constexpr size_t kMaxFds = 253;  // SCM_MAX_FD in the kernel

sockaddr_un UnixAddress(Napi::Env env, const char* fn, const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    ThrowArg(env, fn, "unix socket path must be 1.." + std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

Napi::Value SeqpacketPair(const Napi::CallbackInfo& info) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) ThrowErrno(info.Env(), "socketpair", errno);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, sv[0]);
  out.Set(1u, sv[1]);
  return out;
}

// Binds and listens; the mode is applied after bind and before listen, so no connection can arrive
// while the socket file still has the umask's permissions.
Napi::Value SeqpacketListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "seqpacketListen", "path");
  uint32_t backlog = ArgUint(info, 1, "seqpacketListen", "backlog", 65535);
  uint32_t mode = ArgUint(info, 2, "seqpacketListen", "mode", 07777);
  sockaddr_un addr = UnixAddress(env, "seqpacketListen", path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno);
  // The socket's mode comes from the umask at bind: a chmod on the path afterwards would follow
  // whatever (a symlink) someone put there in between.
  mode_t old_mask = umask(~mode & 0777);
  int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int bind_errno = errno;
  umask(old_mask);
  if (bound != 0) {
    close(fd);
    ThrowErrno(env, "bind", bind_errno, path);
  }
  if (listen(fd, static_cast<int>(backlog)) != 0) {
    int err = errno;
    close(fd);
    unlink(path.c_str());
    ThrowErrno(env, "listen", err, path);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SeqpacketAccept(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "seqpacketAccept");
  int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (client < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) return Napi::Number::New(info.Env(), -1);
    ThrowErrno(info.Env(), "accept4", errno);
  }
  return Napi::Number::New(info.Env(), client);
}

Napi::Value SeqpacketConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "seqpacketConnect", "path");
  sockaddr_un addr = UnixAddress(env, "seqpacketConnect", path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno);
  // Connecting a unix socket completes at once (or fails); switch to non-blocking afterwards.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect", err, path);
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "fcntl", err);
  }
  return Napi::Number::New(env, fd);
}

// sendFds(carrier, bytes, fds) -> bytes sent, or -1 when the carrier is full (EAGAIN).
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "sendFds");
  if (info.Length() < 2 || !info[1].IsTypedArray()) ThrowArg(env, "sendFds", "bytes must be a Uint8Array");
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  std::vector<int> fds;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsArray()) ThrowArg(env, "sendFds", "fds must be an array of file descriptors");
    Napi::Array arr = info[2].As<Napi::Array>();
    if (arr.Length() > kMaxFds) ThrowArg(env, "sendFds", "at most 253 fds per message");
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) ThrowArg(env, "sendFds", "fds must be numbers");
      double d = v.As<Napi::Number>().DoubleValue();
      if (d < 0 || d > 0x7fffffff || d != static_cast<int>(d)) ThrowArg(env, "sendFds", "fds must be non-negative integers");
      fds.push_back(static_cast<int>(d));
    }
  }
  if (bytes.ByteLength() == 0) ThrowArg(env, "sendFds", "a message needs at least one byte (0 bytes reads as end of stream)");

  iovec iov{bytes.Data(), bytes.ByteLength()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "sendmsg", errno);
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) close(fd);
}

// recvFds(carrier, maxBytes, maxFds) -> {data, fds, eof} | null on EAGAIN. Received fds are CLOEXEC.
// A truncated control message or payload is an error, and every fd that did arrive is closed.
Napi::Value RecvFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "recvFds");
  uint32_t maxBytes = info.Length() > 1 && !info[1].IsUndefined() ? ArgUint(info, 1, "recvFds", "maxBytes", 16 << 20) : 65536;
  uint32_t maxFds = info.Length() > 2 && !info[2].IsUndefined() ? ArgUint(info, 2, "recvFds", "maxFds", kMaxFds) : 32;
  if (maxBytes == 0) ThrowArg(env, "recvFds", "maxBytes must be at least 1");

  uint8_t* data = ScratchBuffer(maxBytes);
  iovec iov{data, maxBytes};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (maxFds == 0 ? 1 : maxFds)), 0);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, "recvmsg", errno);
  }
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* p = reinterpret_cast<const int*>(CMSG_DATA(c));
      for (size_t i = 0; i < count; i++) {
        int received;
        memcpy(&received, p + i, sizeof(int));
        fds.push_back(received);
      }
    }
  }
  if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
    CloseAll(fds);
    bool ctrunc = (msg.msg_flags & MSG_CTRUNC) != 0;
    Napi::Error error = ErrnoError(env, "recvmsg", EMSGSIZE,
                                   ctrunc ? "control message truncated (MSG_CTRUNC): more fds than maxFds, or the fd limit was hit"
                                          : "message longer than maxBytes (MSG_TRUNC)");
    error.Set("code", Napi::String::New(env, ctrunc ? "MSG_CTRUNC" : "MSG_TRUNC"));
    throw error;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", Napi::Buffer<uint8_t>::Copy(env, data, static_cast<size_t>(n)));
  Napi::Array arr = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) arr.Set(static_cast<uint32_t>(i), fds[i]);
  out.Set("fds", arr);
  out.Set("eof", Napi::Boolean::New(env, n == 0 && fds.empty()));
  return out;
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "closeFd");
  // close() must not be retried on EINTR on Linux: the fd is released either way.
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(info.Env(), "close", errno);
  return info.Env().Undefined();
}

Napi::Value DupFd(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "dupFd");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) ThrowErrno(info.Env(), "fcntl(F_DUPFD_CLOEXEC)", errno);
  return Napi::Number::New(info.Env(), copy);
}

}  // namespace

void InitFdPass(Napi::Env env, Napi::Object exports) {
  exports.Set("seqpacketPair", Napi::Function::New(env, SeqpacketPair));
  exports.Set("seqpacketListen", Napi::Function::New(env, SeqpacketListen));
  exports.Set("seqpacketAccept", Napi::Function::New(env, SeqpacketAccept));
  exports.Set("seqpacketConnect", Napi::Function::New(env, SeqpacketConnect));
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("dupFd", Napi::Function::New(env, DupFd));
}

}  // namespace mcc
