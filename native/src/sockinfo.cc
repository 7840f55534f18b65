// Introspection of sockets the coordinator holds: MSG_PEEK, SO_PEERCRED, TCP_INFO, SIOCOUTQ(NSD),
// and the addresses of a raw fd.
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

#include "common.h"

namespace mcc {
namespace {

// peek(fd, maxBytes) -> Buffer (empty at end of stream) | null when nothing has arrived yet (EAGAIN).
// The bytes stay in the socket, so whoever receives the fd next (a worker, smbd) reads them itself.
Napi::Value Peek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "peek");
  uint32_t maxBytes = ArgUint(info, 1, "peek", "maxBytes", 16 << 20);
  if (maxBytes == 0) ThrowArg(env, "peek", "maxBytes must be at least 1");
  uint8_t* buf = ScratchBuffer(maxBytes);
  ssize_t n;
  do {
    n = recv(fd, buf, maxBytes, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, "recv(MSG_PEEK)", errno);
  }
  return Napi::Buffer<uint8_t>::Copy(env, buf, static_cast<size_t>(n));
}

Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "peerCred");
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) ThrowErrno(info.Env(), "getsockopt(SO_PEERCRED)", errno);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("pid", cred.pid);
  out.Set("uid", cred.uid);
  out.Set("gid", cred.gid);
  return out;
}

// Only fields the kernel actually filled (per the returned length) are reported; newer fields are
// simply absent on older kernels instead of reading as zero.
Napi::Value TcpInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "tcpInfo");
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) ThrowErrno(env, "getsockopt(TCP_INFO)", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("length", Napi::Number::New(env, len));
#define HAVE(field) (offsetof(tcp_info, field) + sizeof(ti.field) <= len)
#define PUT(name, field) \
  if (HAVE(field)) out.Set(name, Napi::Number::New(env, static_cast<double>(ti.field)))
  PUT("state", tcpi_state);
  PUT("caState", tcpi_ca_state);
  PUT("retransmits", tcpi_retransmits);
  PUT("probes", tcpi_probes);
  PUT("backoff", tcpi_backoff);
  PUT("rtoUs", tcpi_rto);
  PUT("atoUs", tcpi_ato);
  PUT("sndMss", tcpi_snd_mss);
  PUT("rcvMss", tcpi_rcv_mss);
  PUT("unacked", tcpi_unacked);
  PUT("sacked", tcpi_sacked);
  PUT("lost", tcpi_lost);
  PUT("retrans", tcpi_retrans);
  PUT("lastDataSentMs", tcpi_last_data_sent);
  PUT("lastAckSentMs", tcpi_last_ack_sent);
  PUT("lastDataRecvMs", tcpi_last_data_recv);
  PUT("lastAckRecvMs", tcpi_last_ack_recv);
  PUT("pmtu", tcpi_pmtu);
  PUT("rttUs", tcpi_rtt);
  PUT("rttVarUs", tcpi_rttvar);
  PUT("sndCwnd", tcpi_snd_cwnd);
  PUT("totalRetrans", tcpi_total_retrans);
  PUT("bytesAcked", tcpi_bytes_acked);
  PUT("bytesReceived", tcpi_bytes_received);
  PUT("segsOut", tcpi_segs_out);
  PUT("segsIn", tcpi_segs_in);
  PUT("notsentBytes", tcpi_notsent_bytes);
  PUT("minRttUs", tcpi_min_rtt);
  PUT("bytesSent", tcpi_bytes_sent);
  PUT("bytesRetrans", tcpi_bytes_retrans);
  PUT("deliveryRate", tcpi_delivery_rate);
#undef PUT
#undef HAVE
  return out;
}

// Only the TCP state (one getsockopt, one number): what a hot path asks before handing a connection on,
// without building tcpInfo's thirty-field object.
Napi::Value TcpState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "tcpState");
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) ThrowErrno(env, "getsockopt(TCP_INFO)", errno);
  return Napi::Number::New(env, ti.tcpi_state);
}

Napi::Value QueueIoctl(const Napi::CallbackInfo& info, const char* fn, unsigned long request, const char* syscall) {
  int fd = ArgFd(info, 0, fn);
  int value = 0;
  if (ioctl(fd, request, &value) != 0) ThrowErrno(info.Env(), syscall, errno);
  return Napi::Number::New(info.Env(), value);
}

// Bytes not yet acknowledged by the peer (sent or not): what Samba checks before retrying a break.
Napi::Value Outq(const Napi::CallbackInfo& info) {
  return QueueIoctl(info, "outq", SIOCOUTQ, "ioctl(SIOCOUTQ)");
}

// Bytes not yet sent at all.
Napi::Value OutqNotSent(const Napi::CallbackInfo& info) {
  return QueueIoctl(info, "outqNotSent", SIOCOUTQNSD, "ioctl(SIOCOUTQNSD)");
}

Napi::Value AddressObject(Napi::Env env, const sockaddr_storage& ss) {
  Napi::Object out = Napi::Object::New(env);
  char text[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    out.Set("family", "ipv4");
    out.Set("port", ntohs(a->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    out.Set("family", "ipv6");
    out.Set("port", ntohs(a->sin6_port));
    out.Set("scopeId", a->sin6_scope_id);
  } else {
    out.Set("family", "other");
    out.Set("port", 0);
  }
  out.Set("address", text);
  return out;
}

// socketAddresses(fd) -> {local, remote} for TCP sockets held as raw fds (no net.Socket around them).
Napi::Value SocketAddresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "socketAddresses");
  sockaddr_storage local{}, remote{};
  socklen_t llen = sizeof(local), rlen = sizeof(remote);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) ThrowErrno(env, "getsockname", errno);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &rlen) != 0) ThrowErrno(env, "getpeername", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("local", AddressObject(env, local));
  out.Set("remote", AddressObject(env, remote));
  return out;
}

Napi::Value ShutdownFd(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "shutdownFd");
  if (shutdown(fd, SHUT_RDWR) != 0 && errno != ENOTCONN) ThrowErrno(info.Env(), "shutdown", errno);
  return info.Env().Undefined();
}

// setDeferAccept(fd, seconds): on a listening TCP socket, a connection is queued for accept only once
// its first data arrives (or after about `seconds`, rounded up to the SYN-ACK retransmit schedule).
// SMB clients speak first, so a real client is accepted as before; one that never sends a byte waits in
// the kernel as a request socket (no fd, no accept, nothing for mccd to shed) instead of in mccd.
Napi::Value SetDeferAccept(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "setDeferAccept");
  int seconds = static_cast<int>(ArgUint(info, 1, "setDeferAccept", "seconds", 3600));
  if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds)) != 0)
    ThrowErrno(info.Env(), "setsockopt(TCP_DEFER_ACCEPT)", errno);
  return info.Env().Undefined();
}

// listenerInfo(fd) -> {local, stream, listening}: what an inherited (socket-activated) descriptor is,
// without a peer to ask for and without accepting anything from its queue.
Napi::Value ListenerInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "listenerInfo");
  sockaddr_storage local{};
  socklen_t llen = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) ThrowErrno(env, "getsockname", errno);
  int type = 0, accepting = 0;
  socklen_t tlen = sizeof(type), alen = sizeof(accepting);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0) ThrowErrno(env, "getsockopt(SO_TYPE)", errno);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &alen) != 0) ThrowErrno(env, "getsockopt(SO_ACCEPTCONN)", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("local", AddressObject(env, local));
  out.Set("stream", Napi::Boolean::New(env, type == SOCK_STREAM));
  out.Set("listening", Napi::Boolean::New(env, accepting != 0));
  return out;
}

}  // namespace

void InitSockInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("peek", Napi::Function::New(env, Peek));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred));
  exports.Set("tcpInfo", Napi::Function::New(env, TcpInfo));
  exports.Set("tcpState", Napi::Function::New(env, TcpState));
  exports.Set("outq", Napi::Function::New(env, Outq));
  exports.Set("outqNotSent", Napi::Function::New(env, OutqNotSent));
  exports.Set("socketAddresses", Napi::Function::New(env, SocketAddresses));
  exports.Set("shutdownFd", Napi::Function::New(env, ShutdownFd));
  exports.Set("listenerInfo", Napi::Function::New(env, ListenerInfo));
  exports.Set("setDeferAccept", Napi::Function::New(env, SetDeferAccept));
}

}  // namespace mcc
