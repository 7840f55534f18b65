// An epoll set of fds whose readability one FdWatcher (on the set's own fd) reports to JavaScript: many
// short-lived fds waited on without a libuv handle, a JS watcher object and their syscalls each (the smbd
// pool waits on one carrier per member, and every connection it hands off orders a new member).
#include <sys/epoll.h>
#include <unistd.h>

#include "common.h"

namespace mcc {
namespace {

// fdSetCreate() -> the epoll fd (CLOEXEC).
Napi::Value FdSetCreate(const Napi::CallbackInfo& info) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), "epoll_create1", errno);
  return Napi::Number::New(info.Env(), fd);
}

// fdSetAdd(set, fd): report fd when readable, at its end (RDHUP) or on an error. Level-triggered: an fd
// with a message left unread is reported again.
Napi::Value FdSetAdd(const Napi::CallbackInfo& info) {
  int set = ArgFd(info, 0, "fdSetAdd");
  int fd = ArgFd(info, 1, "fdSetAdd");
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) != 0) ThrowErrno(info.Env(), "epoll_ctl", errno);
  return info.Env().Undefined();
}

// fdSetCloseFd(set, fd): out of the set, then closed. Removed explicitly: the kernel drops an fd from
// epoll sets only when its last reference goes, and a stale entry would report a reused fd number.
Napi::Value FdSetCloseFd(const Napi::CallbackInfo& info) {
  int set = ArgFd(info, 0, "fdSetCloseFd");
  int fd = ArgFd(info, 1, "fdSetCloseFd");
  epoll_event ev{};
  int rc = epoll_ctl(set, EPOLL_CTL_DEL, fd, &ev);
  int err = errno;
  close(fd);
  if (rc != 0 && err != ENOENT) ThrowErrno(info.Env(), "epoll_ctl", err);
  return info.Env().Undefined();
}

// fdSetReady(set, max) -> Int32Array of the fds ready now (at most max; never waits).
Napi::Value FdSetReady(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int set = ArgFd(info, 0, "fdSetReady");
  uint32_t max = ArgUint(info, 1, "fdSetReady", "max", 4096);
  if (max == 0) ThrowArg(env, "fdSetReady", "max must be at least 1");
  auto* events = reinterpret_cast<epoll_event*>(ScratchBuffer(sizeof(epoll_event) * max));
  int n;
  do {
    n = epoll_wait(set, events, static_cast<int>(max), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, "epoll_wait", errno);
  Napi::Int32Array out = Napi::Int32Array::New(env, static_cast<size_t>(n));
  for (int i = 0; i < n; i++) out[static_cast<size_t>(i)] = events[i].data.fd;
  return out;
}

}  // namespace

void InitFdSet(Napi::Env env, Napi::Object exports) {
  exports.Set("fdSetCreate", Napi::Function::New(env, FdSetCreate));
  exports.Set("fdSetAdd", Napi::Function::New(env, FdSetAdd));
  exports.Set("fdSetCloseFd", Napi::Function::New(env, FdSetCloseFd));
  exports.Set("fdSetReady", Napi::Function::New(env, FdSetReady));
}

}  // namespace mcc
