// Acceptor: the SMB front door's per-connection work before any decision, in C++ on Node's event loop.
// It accepts without creating a JavaScript socket, peeks the first frame (MSG_PEEK: the bytes stay for
// the owner) under a deadline and a size cap through one private epoll set, keeps the pending bounds
// (overall and per source address, the oldest shed first), and reports every connection it is done
// with to JavaScript in one batch per turn of the loop. JavaScript still parses each NEGOTIATE and
// decides everything after it (admission, the client's statechart, the owner, the handoff): this only
// takes away what net.Server and a per-connection peek cost in JavaScript, and it drains a flooded
// accept queue an order of magnitude faster (bench/NOTES.md). One class, past the usual length, because
// its parts change together: the pending set's three indexes, the epoll set, the deadline timer and the
// report batch are one structure, and every path that ends a connection must keep all of them in step.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common.h"

namespace mcc {
namespace {

// Bounds per readiness callback, so one flood cannot hold the event loop.
constexpr int kAcceptsPerTurn = 1024;
constexpr int kEpollBatch = 256;
constexpr int kEpollRounds = 16;
// At EMFILE/ENFILE, or an accepted fd numbered this close to the limit: the oldest pending go.
constexpr int kShedOnEmfile = 32;
constexpr int kFdHeadroom = 64;
// A listener that cannot accept for a reason shedding cannot cure (ENOBUFS, ENOMEM, ...) rests.
constexpr uint64_t kBackoffFirstMs = 50;
constexpr uint64_t kBackoffMaxMs = 1000;
constexpr size_t kTransportHeader = 4;

enum Kind { kReady = 0, kEof = 1, kTimeout = 2, kShed = 3, kError = 4, kAcceptError = 5 };

struct Endpoint {
  std::string address;
  int port = 0;
};

// An address as mccd writes it everywhere: IPv4-mapped IPv6 as plain IPv4, IPv6 as inet_ntop's text.
Endpoint FromSockaddr(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    return {text, ntohs(a->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, sizeof(text));
    else
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    return {text, ntohs(a->sin6_port)};
  }
  return {};
}

Napi::Object EndpointObject(Napi::Env env, const Endpoint& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", Napi::String::New(env, e.address));
  o.Set("port", Napi::Number::New(env, e.port));
  return o;
}

double WallMs() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>(tv.tv_usec / 1000);
}

// How many bytes the first frame needs before it can be judged, or 0 when it can be judged now: a
// transport header and the SMB2 protocol id, then the whole frame its header announces, unless that is
// past the cap (then the cap decides: oversized). Not SMB's direct-TCP framing at all: judge now.
size_t Needed(const uint8_t* b, size_t n, size_t max) {
  if (n >= max) return 0;
  if (n < kTransportHeader + 4) return kTransportHeader + 4;
  if (b[0] != 0) return 0;
  size_t length = (static_cast<size_t>(b[1]) << 16) | (static_cast<size_t>(b[2]) << 8) | b[3];
  if (length + kTransportHeader > max || n >= length + kTransportHeader) return 0;
  return length + kTransportHeader;
}

struct Conn {
  int fd = -1;
  double acceptedAt = 0;
  uint64_t deadline = 0;
  int lowWater = 1;
  Endpoint local;
  Endpoint remote;
  std::list<Conn*>::iterator byAge;
  std::list<Conn*>::iterator byAddress;
};

// The names JavaScript sees (native/acceptor.ts, AcceptReport), by Kind.
constexpr const char* kKindNames[] = {"ready", "eof", "timeout", "shed", "error", "accept-error"};

struct Report {
  Kind kind;
  int fd;
  double acceptedAt;
  Endpoint local;
  Endpoint remote;
  std::vector<uint8_t> bytes;
  std::string detail;
  std::string code;
  std::string listener;
};

class Acceptor;

struct Listener {
  Acceptor* owner;
  int fd;
  std::string label;
  uv_poll_t* poll = nullptr;
  uv_timer_t* rest = nullptr;
  uint64_t backoffMs = kBackoffFirstMs;
};

class Acceptor : public Napi::ObjectWrap<Acceptor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Acceptor",
                       {InstanceMethod("listen", &Acceptor::Listen), InstanceMethod("pending", &Acceptor::Pending),
                        InstanceMethod("closePendingTo", &Acceptor::ClosePendingTo),
                        InstanceMethod("close", &Acceptor::Close)});
  }

  // new Acceptor({maxBytes, deadlineMs, maxPending, maxPendingPerAddress, fdLimit}, callback(reports)).
  explicit Acceptor(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Acceptor>(info), context_(info.Env(), "mcc.Acceptor") {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      ThrowArg(env, "Acceptor", "expected (options, callback)");
    Napi::Object o = info[0].As<Napi::Object>();
    auto field = [&](const char* name, uint32_t min, uint32_t max) -> uint32_t {
      Napi::Value v = o.Get(name);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (d < min || d > max || d != static_cast<double>(static_cast<uint32_t>(d)))
        ThrowArg(env, "Acceptor", std::string(name) + " must be an integer in " + std::to_string(min) + ".." +
                                      std::to_string(max));
      return static_cast<uint32_t>(d);
    };
    maxBytes_ = field("maxBytes", 16, 1 << 24);
    deadlineMs_ = field("deadlineMs", 1, 24 * 3600 * 1000);
    maxPending_ = field("maxPending", 1, 1 << 24);
    maxPerAddress_ = field("maxPendingPerAddress", 1, 1 << 24);
    fdLimit_ = field("fdLimit", 0, 0x7fffffff);
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    if (napi_get_uv_event_loop(env, &loop_) != napi_ok || loop_ == nullptr) ThrowArg(env, "Acceptor", "no event loop");
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) ThrowErrno(env, "epoll_create1", errno);
    peekPoll_ = new uv_poll_t;
    int rc = uv_poll_init(loop_, peekPoll_, epfd_);
    if (rc == 0) rc = uv_poll_start(peekPoll_, UV_READABLE, OnPeekable);
    if (rc != 0) {
      delete peekPoll_;
      peekPoll_ = nullptr;
      close(epfd_);
      epfd_ = -1;
      ThrowErrno(env, "uv_poll_init", -rc);
    }
    peekPoll_->data = this;
    // Pending connections alone must not keep the process alive; the listeners do, while they listen.
    uv_unref(reinterpret_cast<uv_handle_t*>(peekPoll_));
    deadlines_ = new uv_timer_t;
    uv_timer_init(loop_, deadlines_);
    deadlines_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(deadlines_));
    // The loop calls back into this object for as long as it has handles: JS may drop it meanwhile.
    Ref();
  }

  ~Acceptor() override { Shut(); }

 private:
  // listen(fd, label): accept on a listening socket the caller opened (and closes after close()).
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0, "Acceptor.listen");
    std::string label = ArgString(info, 1, "Acceptor.listen", "label");
    if (epfd_ < 0) ThrowErrno(env, "Acceptor.listen", EBADF, "acceptor is closed");
    // An inherited socket (systemd's NonBlocking= is off by default) would block accept4 when drained.
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) ThrowErrno(env, "fcntl", errno, label);
    auto* l = new Listener{this, fd, label};
    l->poll = new uv_poll_t;
    int rc = uv_poll_init(loop_, l->poll, fd);
    if (rc == 0) rc = uv_poll_start(l->poll, UV_READABLE, OnAcceptable);
    if (rc != 0) {
      delete l->poll;
      delete l;
      ThrowErrno(env, "uv_poll_init", -rc, label);
    }
    l->poll->data = l;
    listeners_.push_back(l);
    return env.Undefined();
  }

  Napi::Value Pending(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(byFd_.size()));
  }

  // closePendingTo(localAddress) -> [{local, remote}]: closes the
  // pending connections to that address now, unreported (the caller says why).
  Napi::Value ClosePendingTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string local = ArgString(info, 0, "Acceptor.closePendingTo", "localAddress");
    std::vector<Conn*> matching;
    for (Conn* c : byAge_)
      if (c->local.address == local) matching.push_back(c);
    Napi::Array out = Napi::Array::New(env, matching.size());
    for (size_t i = 0; i < matching.size(); i++) {
      Conn* c = matching[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("local", EndpointObject(env, c->local));
      o.Set("remote", EndpointObject(env, c->remote));
      out.Set(static_cast<uint32_t>(i), o);
      Done(c, kShed, nullptr, 0, "", "", /*report=*/false);
    }
    return out;
  }

  // close(): stops accepting and closes every pending connection, unreported.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shut();
    return info.Env().Undefined();
  }

  template <typename H>
  static void CloseHandle(H* h) {
    h->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete reinterpret_cast<H*>(x); });
  }

  void Shut() {
    if (epfd_ < 0) return;
    for (Listener* l : listeners_) {
      CloseHandle(l->poll);
      if (l->rest != nullptr) CloseHandle(l->rest);
      delete l;
    }
    listeners_.clear();
    for (Conn* c : byAge_) {
      close(c->fd);
      delete c;
    }
    byAge_.clear();
    byAddress_.clear();
    byFd_.clear();
    reports_.clear();
    CloseHandle(peekPoll_);
    peekPoll_ = nullptr;
    CloseHandle(deadlines_);
    deadlines_ = nullptr;
    close(epfd_);
    epfd_ = -1;
    Unref();
  }

  // ---- accepting ----

  static void OnAcceptable(uv_poll_t* handle, int status, int events) {
    auto* l = static_cast<Listener*>(handle->data);
    if (l == nullptr) return;
    Acceptor* self = l->owner;
    if (status < 0) {
      self->AcceptFailed(l, -status);
    } else {
      for (int i = 0; i < kAcceptsPerTurn; i++) {
        sockaddr_storage peer{};
        socklen_t len = sizeof(peer);
        int fd = accept4(l->fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
          l->backoffMs = kBackoffFirstMs;
          self->Accepted(fd, peer);
          continue;
        }
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        // Errors of that one connection (accept(2) says to retry on these): the next may be fine.
        if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN || err == ENOPROTOOPT ||
            err == EHOSTDOWN || err == EHOSTUNREACH || err == EOPNOTSUPP || err == ENETUNREACH)
          continue;
        self->AcceptFailed(l, err);
        break;
      }
    }
    self->Flush();
  }

  void AcceptFailed(Listener* l, int err) {
    size_t shed = 0;
    if (err == EMFILE || err == ENFILE)
      shed = ShedOldest(kShedOnEmfile, std::string("accept failed with ") + ErrnoName(err) +
                                           ": closing the oldest connections still waiting for their NEGOTIATE");
    Report r{kAcceptError, -1, WallMs(), {}, {}, {}, l->label + ": accept: " + strerror(err), ErrnoName(err), l->label};
    reports_.push_back(std::move(r));
    if (shed > 0) return;
    // Nothing to free: polling again at once would spin on the same error.
    uv_poll_stop(l->poll);
    if (l->rest == nullptr) {
      l->rest = new uv_timer_t;
      uv_timer_init(loop_, l->rest);
      l->rest->data = l;
    }
    uv_timer_start(l->rest, Resume, l->backoffMs, 0);
    l->backoffMs = std::min(l->backoffMs * 2, kBackoffMaxMs);
  }

  static void Resume(uv_timer_t* timer) {
    auto* l = static_cast<Listener*>(timer->data);
    if (l != nullptr && l->poll != nullptr) uv_poll_start(l->poll, UV_READABLE, OnAcceptable);
  }

  void Accepted(int fd, const sockaddr_storage& peer) {
    if (fdLimit_ > 0 && fd >= static_cast<int>(fdLimit_) - kFdHeadroom)
      ShedOldest(kShedOnEmfile, "fd " + std::to_string(fd) + " is near the open-file limit " +
                                    std::to_string(fdLimit_) +
                                    ": closing the oldest connections still waiting for their NEGOTIATE");
    auto* c = new Conn;
    c->fd = fd;
    c->acceptedAt = WallMs();
    c->remote = FromSockaddr(peer);
    sockaddr_storage self{};
    socklen_t len = sizeof(self);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) == 0) c->local = FromSockaddr(self);
    uint8_t* buf = ScratchBuffer(maxBytes_);
    ssize_t n = recv(fd, buf, maxBytes_, MSG_PEEK | MSG_DONTWAIT);
    // The usual case: the NEGOTIATE came with the connection (always so with TCP_DEFER_ACCEPT).
    if (n > 0 && Needed(buf, n, maxBytes_) == 0) return Done(c, kReady, buf, n, "", "");
    if (n == 0) return Done(c, kEof, buf, 0, "connection ended after 0 bytes", "");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      int err = errno;
      return Done(c, kError, buf, 0, std::string("recv: ") + strerror(err), ErrnoName(err));
    }
    Wait(c, buf, n > 0 ? static_cast<size_t>(n) : 0);
  }

  // ---- waiting for the first frame ----

  void Wait(Conn* c, const uint8_t* buf, size_t n) {
    // Looked up again each time: shedding an address's last connection erases its list.
    for (auto own = byAddress_.find(c->remote.address);
         own != byAddress_.end() && own->second.size() >= maxPerAddress_; own = byAddress_.find(c->remote.address))
      Shed(own->second.front(), std::to_string(maxPerAddress_) +
                                    " connections from this address already waiting for their NEGOTIATE; closing the oldest");
    while (byFd_.size() >= maxPending_)
      Shed(byAge_.front(), std::to_string(maxPending_) +
                               " connections already waiting for their NEGOTIATE; closing the oldest");
    if (n > 0 && !SetLowWater(c, Needed(buf, n, maxBytes_))) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c->fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      int err = errno;
      return Done(c, kError, buf, 0, std::string("epoll_ctl: ") + strerror(err), ErrnoName(err));
    }
    c->deadline = uv_now(loop_) + deadlineMs_;
    auto& mine = byAddress_[c->remote.address];
    c->byAddress = mine.insert(mine.end(), c);
    c->byAge = byAge_.insert(byAge_.end(), c);
    byFd_[c->fd] = c;
    if (byAge_.size() == 1) ArmDeadline();
  }

  // SO_RCVLOWAT: epoll reports the socket readable only once that much has arrived (or it shut down).
  bool SetLowWater(Conn* c, size_t want) {
    int value = static_cast<int>(std::min<size_t>(want, maxBytes_));
    if (value == c->lowWater) return true;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof(value)) != 0) {
      int err = errno;
      Done(c, kError, nullptr, 0, std::string("setsockopt(SO_RCVLOWAT): ") + strerror(err), ErrnoName(err));
      return false;
    }
    c->lowWater = value;
    return true;
  }

  static void OnPeekable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Acceptor*>(handle->data);
    if (self == nullptr || self->epfd_ < 0) return;
    epoll_event ready[kEpollBatch];
    for (int round = 0; round < kEpollRounds; round++) {
      int got = epoll_wait(self->epfd_, ready, kEpollBatch, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      for (int i = 0; i < got; i++) {
        auto it = self->byFd_.find(ready[i].data.fd);
        if (it != self->byFd_.end()) self->Look(it->second, ready[i].events);
      }
      if (got < kEpollBatch) break;
    }
    self->Flush();
  }

  void Look(Conn* c, uint32_t events) {
    uint8_t* buf = ScratchBuffer(maxBytes_);
    ssize_t n = recv(c->fd, buf, maxBytes_, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      return Done(c, kError, buf, 0, std::string("recv: ") + strerror(err), ErrnoName(err));
    }
    size_t got = static_cast<size_t>(n);
    size_t want = got > 0 ? Needed(buf, got, maxBytes_) : 0;
    if (got > 0 && want == 0) return Done(c, kReady, buf, got, "", "");
    // Peeked bytes stay queued, so after a FIN the socket stays readable with the same short data.
    bool ended = got == 0 || (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 ||
                 got < static_cast<size_t>(c->lowWater);
    if (ended) return Done(c, kEof, buf, got, "connection ended after " + std::to_string(got) + " bytes", "");
    SetLowWater(c, std::max(want, got + 1));
  }

  // ---- deadlines (one timer: every connection waits the same time, so the oldest is due first) ----

  void ArmDeadline() {
    if (byAge_.empty()) {
      uv_timer_stop(deadlines_);
      return;
    }
    uint64_t now = uv_now(loop_);
    uint64_t due = byAge_.front()->deadline;
    uv_timer_start(deadlines_, OnDeadline, due > now ? due - now : 0, 0);
  }

  static void OnDeadline(uv_timer_t* timer) {
    auto* self = static_cast<Acceptor*>(timer->data);
    if (self == nullptr || self->epfd_ < 0) return;
    uint64_t now = uv_now(self->loop_);
    while (!self->byAge_.empty() && self->byAge_.front()->deadline <= now) {
      Conn* c = self->byAge_.front();
      uint8_t* buf = ScratchBuffer(self->maxBytes_);
      ssize_t n = recv(c->fd, buf, self->maxBytes_, MSG_PEEK | MSG_DONTWAIT);
      size_t got = n > 0 ? static_cast<size_t>(n) : 0;
      // The frame may have completed in this very turn of the loop, before its readiness was seen.
      if (got > 0 && Needed(buf, got, self->maxBytes_) == 0) {
        self->Done(c, kReady, buf, got, "", "");
        continue;
      }
      self->Done(c, kTimeout, buf, got,
                 "no complete SMB2 frame within " + std::to_string(self->deadlineMs_) + " ms (" + std::to_string(got) +
                     " bytes)",
                 "");
    }
    self->ArmDeadline();
    self->Flush();
  }

  // ---- ending ----

  size_t ShedOldest(size_t n, const std::string& detail) {
    size_t shed = 0;
    while (shed < n && !byAge_.empty()) {
      Shed(byAge_.front(), detail);
      shed++;
    }
    return shed;
  }

  void Shed(Conn* c, const std::string& detail) { Done(c, kShed, nullptr, 0, detail, ""); }

  // Out of the pending set; reported; closed unless it is ready (then JavaScript owns the fd).
  void Done(Conn* c, Kind kind, const uint8_t* bytes, size_t n, const std::string& detail, const std::string& code,
            bool report = true) {
    auto found = byFd_.find(c->fd);
    if (found != byFd_.end() && found->second == c) {
      // Out of the epoll set before the fd can be closed and its number reused.
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
      byFd_.erase(found);
      byAge_.erase(c->byAge);
      auto own = byAddress_.find(c->remote.address);
      if (own != byAddress_.end()) {
        own->second.erase(c->byAddress);
        if (own->second.empty()) byAddress_.erase(own);
      }
    }
    if (kind == kReady && c->lowWater != 1) {
      // The owner reads this socket next: it must not inherit the peek's low-water mark.
      int one = 1;
      setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
    }
    Report r{kind, c->fd, c->acceptedAt, std::move(c->local), std::move(c->remote), {}, detail, code, {}};
    if (n > 0) r.bytes.assign(bytes, bytes + n);
    if (kind != kReady) close(c->fd);
    if (report) reports_.push_back(std::move(r));
    delete c;
  }

  void Flush() {
    if (reports_.empty() || epfd_ < 0) return;
    std::vector<Report> batch;
    batch.swap(reports_);
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Array out = Napi::Array::New(env, batch.size());
    // Built in the shape the TypeScript type names, so nothing is copied again on the JavaScript side.
    for (size_t i = 0; i < batch.size(); i++) {
      Report& r = batch[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("kind", Napi::String::New(env, kKindNames[r.kind]));
      if (r.kind == kAcceptError) {
        o.Set("listener", Napi::String::New(env, r.listener));
        o.Set("code", Napi::String::New(env, r.code));
        o.Set("detail", Napi::String::New(env, r.detail));
        out.Set(static_cast<uint32_t>(i), o);
        continue;
      }
      o.Set("local", EndpointObject(env, r.local));
      o.Set("remote", EndpointObject(env, r.remote));
      o.Set("acceptedAt", Napi::Number::New(env, r.acceptedAt));
      if (r.kind == kReady) o.Set("fd", Napi::Number::New(env, r.fd));
      if (r.kind == kReady || r.kind == kEof || r.kind == kTimeout)
        o.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, r.bytes.data(), r.bytes.size()));
      if (r.kind != kReady) o.Set("detail", Napi::String::New(env, r.detail));
      if (!r.code.empty()) o.Set("code", Napi::String::New(env, r.code));
      out.Set(static_cast<uint32_t>(i), o);
    }
    try {
      callback_.MakeCallback(Value(), {out}, context_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  uv_loop_t* loop_ = nullptr;
  int epfd_ = -1;
  uv_poll_t* peekPoll_ = nullptr;
  uv_timer_t* deadlines_ = nullptr;
  std::vector<Listener*> listeners_;
  std::list<Conn*> byAge_;
  std::unordered_map<std::string, std::list<Conn*>> byAddress_;
  std::unordered_map<int, Conn*> byFd_;
  std::vector<Report> reports_;
  uint32_t maxBytes_ = 0;
  uint32_t deadlineMs_ = 0;
  uint32_t maxPending_ = 0;
  uint32_t maxPerAddress_ = 0;
  uint32_t fdLimit_ = 0;
  Napi::FunctionReference callback_;
  Napi::AsyncContext context_;
};

}  // namespace

void InitAcceptor(Napi::Env env, Napi::Object exports) {
  exports.Set("Acceptor", Acceptor::Define(env));
}

}  // namespace mcc
