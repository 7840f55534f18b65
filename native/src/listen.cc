// Listening TCP sockets for the front door: opened here (several may share an address with
// SO_REUSEPORT) or inherited from socket activation and listened on again with mccd's backlog.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common.h"

namespace mcc {
namespace {

// listenTcp(address, port, backlog, reusePort) -> fd: a non-blocking listening socket, SO_REUSEADDR as
// Node sets it. With reusePort, several sockets share the address and the kernel spreads connections
// over them, each with an accept queue (and a SYN queue) of its own.
Napi::Value ListenTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address = ArgString(info, 0, "listenTcp", "address");
  uint32_t port = ArgUint(info, 1, "listenTcp", "port", 65535);
  uint32_t backlog = ArgUint(info, 2, "listenTcp", "backlog", 0x7fffffff);
  bool reusePort = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    ThrowArg(env, "listenTcp", "not an IP address: " + address);
  }
  std::string where = address + ":" + std::to_string(port);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno, where);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const char* step = nullptr;
  if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
    step = "setsockopt(SO_REUSEPORT)";
  else if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    step = "bind";
  else if (listen(fd, static_cast<int>(backlog)) != 0)
    step = "listen";
  if (step != nullptr) {
    int err = errno;
    close(fd);
    ThrowErrno(env, step, err, where);
  }
  return Napi::Number::New(env, fd);
}

// relisten(fd, backlog): listen(2) again on an inherited listening socket (the kernel takes the new
// backlog; systemd's Backlog= may have set a smaller one).
Napi::Value Relisten(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "relisten");
  uint32_t backlog = ArgUint(info, 1, "relisten", "backlog", 0x7fffffff);
  if (listen(fd, static_cast<int>(backlog)) != 0) ThrowErrno(env, "listen", errno);
  return env.Undefined();
}

}  // namespace

void InitListen(Napi::Env env, Napi::Object exports) {
  exports.Set("listenTcp", Napi::Function::New(env, ListenTcp));
  exports.Set("relisten", Napi::Function::New(env, Relisten));
}

}  // namespace mcc
