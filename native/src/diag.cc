// netlink sock_diag: kill TCP connections owned by any process by 4-tuple (SOCK_DESTROY, needs
// CAP_NET_ADMIN and CONFIG_INET_DIAG_DESTROY) and list TCP sockets (inet_diag dump), in the caller's
// network namespace.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "common.h"

namespace mcc {
namespace {

constexpr int kTcpEstablished = 1;
constexpr uint32_t kMaxDumpMessages = 4'000'000;  // bound on one dump, far above any real table

struct Endpoint {
  int family;
  uint8_t addr[16];
  uint16_t port;
};

Endpoint ParseEndpoint(Napi::Env env, const char* fn, Napi::Value address, Napi::Value port) {
  if (!address.IsString()) ThrowArg(env, fn, "address must be a string");
  if (!port.IsNumber()) ThrowArg(env, fn, "port must be a number");
  double p = port.As<Napi::Number>().DoubleValue();
  if (p < 0 || p > 65535 || p != static_cast<int>(p)) ThrowArg(env, fn, "port must be an integer in 0..65535");
  Endpoint e{};
  std::string text = address.As<Napi::String>().Utf8Value();
  if (inet_pton(AF_INET, text.c_str(), e.addr) == 1) {
    e.family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), e.addr) == 1) {
    e.family = AF_INET6;
  } else {
    ThrowArg(env, fn, "not an IP address: " + text);
  }
  e.port = static_cast<uint16_t>(p);
  return e;
}

class NetlinkSocket {
 public:
  explicit NetlinkSocket(Napi::Env env) : env_(env) {
    fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) ThrowErrno(env, "socket(NETLINK_SOCK_DIAG)", errno);
    // Bounded waits: a kernel that never answers must not hang the event loop.
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NetlinkSocket() { close(fd_); }
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  void Send(uint16_t type, uint16_t flags, uint32_t seq, const inet_diag_req_v2& req) {
    struct {
      nlmsghdr nlh;
      inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = type;
    msg.nlh.nlmsg_flags = flags;
    msg.nlh.nlmsg_seq = seq;
    msg.req = req;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
      ThrowErrno(env_, "sendto(netlink)", errno);
    }
  }

  ssize_t Recv(std::vector<char>& buf) {
    ssize_t n;
    do {
      n = recv(fd_, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) ThrowErrno(env_, "recv(netlink)", errno);
    return n;
  }

 private:
  Napi::Env env_;
  int fd_;
};

inet_diag_req_v2 RequestFor(const Endpoint& local, const Endpoint& remote) {
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<uint8_t>(local.family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = ~0u;
  req.id.idiag_sport = htons(local.port);
  req.id.idiag_dport = htons(remote.port);
  memcpy(req.id.idiag_src, local.addr, local.family == AF_INET ? 4 : 16);
  memcpy(req.id.idiag_dst, remote.addr, remote.family == AF_INET ? 4 : 16);
  req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  return req;
}

// Waits for the answer to request `seq`: an inet_diag_msg (copied to *found) or an NLMSG_ERROR.
// Returns 0 when a socket was reported, else the positive errno.
int AwaitAnswer(NetlinkSocket& nl, std::vector<char>& buf, uint32_t seq, inet_diag_msg* found) {
  for (int attempt = 0; attempt < 16; attempt++) {
    ssize_t n = nl.Recv(buf);
    int result = -1;
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        result = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      } else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && found != nullptr) {
        memcpy(found, NLMSG_DATA(h), sizeof(*found));
        result = 0;
      }
    }
    if (result >= 0) return result;
  }
  return EIO;
}

constexpr uint8_t kTcpListen = 10;

// destroySockets([{localAddress, localPort, remoteAddress, remotePort}]) -> errno per tuple
// (0 destroyed, ENOENT no such connection, EPERM/EOPNOTSUPP as the kernel says). One netlink socket
// serves the whole batch: tearing down a client's channels is one call.
//
// The kernel's 4-tuple lookup falls back to a *listening* socket on the local port when the connection
// is gone, and SOCK_DESTROY would then abort the listener. So each tuple is first looked up exactly,
// anything but that connection (a listener, another peer) counts as not found, and the destroy names the
// socket by its cookie, which the kernel checks (ESTALE if the socket changed in between).
Napi::Value DestroySockets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) ThrowArg(env, "destroySockets", "argument must be an array of 4-tuples");
  Napi::Array tuples = info[0].As<Napi::Array>();
  std::vector<std::pair<Endpoint, Endpoint>> parsed;
  for (uint32_t i = 0; i < tuples.Length(); i++) {
    Napi::Value v = tuples.Get(i);
    if (!v.IsObject()) ThrowArg(env, "destroySockets", "each tuple must be an object");
    Napi::Object t = v.As<Napi::Object>();
    Endpoint local = ParseEndpoint(env, "destroySockets", t.Get("localAddress"), t.Get("localPort"));
    Endpoint remote = ParseEndpoint(env, "destroySockets", t.Get("remoteAddress"), t.Get("remotePort"));
    if (local.family != remote.family) ThrowArg(env, "destroySockets", "local and remote address families differ");
    parsed.emplace_back(local, remote);
  }
  NetlinkSocket nl(env);
  std::vector<char> buf(8192);
  Napi::Array results = Napi::Array::New(env, parsed.size());
  uint32_t seq = 0;
  for (size_t i = 0; i < parsed.size(); i++) {
    const Endpoint& local = parsed[i].first;
    const Endpoint& remote = parsed[i].second;
    inet_diag_req_v2 req = RequestFor(local, remote);
    inet_diag_msg found{};
    nl.Send(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, ++seq, req);
    int result = AwaitAnswer(nl, buf, seq, &found);
    if (result == 0) {
      size_t len = local.family == AF_INET ? 4 : 16;
      bool exact = found.idiag_state != kTcpListen && ntohs(found.id.idiag_sport) == local.port &&
                   ntohs(found.id.idiag_dport) == remote.port && memcmp(found.id.idiag_dst, remote.addr, len) == 0 &&
                   memcmp(found.id.idiag_src, local.addr, len) == 0;
      if (!exact) {
        result = ENOENT;
      } else {
        req.id.idiag_cookie[0] = found.id.idiag_cookie[0];
        req.id.idiag_cookie[1] = found.id.idiag_cookie[1];
        nl.Send(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, ++seq, req);
        result = AwaitAnswer(nl, buf, seq, nullptr);
      }
    }
    results.Set(static_cast<uint32_t>(i), result);
  }
  return results;
}

// listTcpSockets(family "ipv4"|"ipv6", localPort or -1, stateMask, withInfo) -> [{local, remote, state, uid,
// inode, and with withInfo the tcp_info bytes and rtt}]
Napi::Value ListTcpSockets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string family = ArgString(info, 0, "listTcpSockets", "family");
  if (family != "ipv4" && family != "ipv6") ThrowArg(env, "listTcpSockets", "family must be \"ipv4\" or \"ipv6\"");
  int64_t port = -1;
  if (info.Length() > 1 && info[1].IsNumber()) port = info[1].As<Napi::Number>().Int64Value();
  if (port < -1 || port > 65535) ThrowArg(env, "listTcpSockets", "localPort must be -1 or 0..65535");
  uint32_t states = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : (1u << kTcpEstablished);
  bool withInfo = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  int af = family == "ipv4" ? AF_INET : AF_INET6;

  NetlinkSocket nl(env);
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<uint8_t>(af);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = states;
  // INET_DIAG_INFO: the kernel appends each socket's tcp_info, as for `ss -i`.
  if (withInfo) req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
  nl.Send(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, req);

  Napi::Array out = Napi::Array::New(env);
  uint32_t count = 0;
  uint32_t seen = 0;
  std::vector<char> buf(64 * 1024);
  size_t addrLen = af == AF_INET ? 4 : 16;
  for (;;) {
    ssize_t n = nl.Recv(buf);
    if (n == 0) break;
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        ThrowErrno(env, "inet_diag dump", -err->error);
      }
      if (++seen > kMaxDumpMessages) ThrowErrno(env, "inet_diag dump", E2BIG, "dump did not end");
      const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      uint16_t sport = ntohs(m->id.idiag_sport);
      if (port >= 0 && sport != port) continue;
      char src[INET6_ADDRSTRLEN] = {0}, dst[INET6_ADDRSTRLEN] = {0};
      uint8_t raw[16];
      memcpy(raw, m->id.idiag_src, addrLen);
      inet_ntop(af, raw, src, sizeof(src));
      memcpy(raw, m->id.idiag_dst, addrLen);
      inet_ntop(af, raw, dst, sizeof(dst));
      Napi::Object s = Napi::Object::New(env);
      s.Set("localAddress", src);
      s.Set("localPort", sport);
      s.Set("remoteAddress", dst);
      s.Set("remotePort", ntohs(m->id.idiag_dport));
      s.Set("state", m->idiag_state);
      s.Set("uid", m->idiag_uid);
      s.Set("inode", m->idiag_inode);
      s.Set("recvQ", m->idiag_rqueue);
      s.Set("sendQ", m->idiag_wqueue);
      if (withInfo) {
        int attrLen = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(*m)));
        for (rtattr* a = reinterpret_cast<rtattr*>(const_cast<inet_diag_msg*>(m) + 1); RTA_OK(a, attrLen); a = RTA_NEXT(a, attrLen)) {
          if (a->rta_type != INET_DIAG_INFO) continue;
          tcp_info ti{};
          size_t len = std::min(static_cast<size_t>(RTA_PAYLOAD(a)), sizeof(ti));
          memcpy(&ti, RTA_DATA(a), len);
#define HAVE(field) (offsetof(tcp_info, field) + sizeof(ti.field) <= len)
          if (HAVE(tcpi_rtt)) s.Set("rttUs", ti.tcpi_rtt);
          if (HAVE(tcpi_bytes_acked)) s.Set("bytesAcked", static_cast<double>(ti.tcpi_bytes_acked));
          if (HAVE(tcpi_bytes_received)) s.Set("bytesReceived", static_cast<double>(ti.tcpi_bytes_received));
          if (HAVE(tcpi_unacked)) s.Set("unacked", ti.tcpi_unacked);
#undef HAVE
        }
      }
      out.Set(count++, s);
    }
  }
  return out;
}

}  // namespace

void InitDiag(Napi::Env env, Napi::Object exports) {
  exports.Set("destroySockets", Napi::Function::New(env, DestroySockets));
  exports.Set("listTcpSockets", Napi::Function::New(env, ListTcpSockets));
}

}  // namespace mcc
