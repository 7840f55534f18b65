// PeekSet: readiness of many accepted-but-unread sockets through ONE private epoll instance, itself
// watched by one uv_poll. The front door peeks the first PDU of every new connection without libuv ever
// reading it; watching each socket with a uv_poll of its own would need a dup of every fd (libuv allows
// one watcher per fd, and the socket's own handle holds that slot), i.e. two fds per silent connection.
// A private epoll set keys on the open file itself, so the caller's fd is all it needs: one fd per
// pending peek plus one for the whole set.
#include <sys/epoll.h>
#include <unistd.h>
#include <uv.h>

#include "common.h"

namespace mcc {
namespace {

constexpr int kBatch = 256;
// Upper bound on epoll_wait rounds per readiness callback, so one flood cannot hold the event loop.
constexpr int kMaxRounds = 16;

class PeekSet : public Napi::ObjectWrap<PeekSet> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PeekSet",
                       {InstanceMethod("add", &PeekSet::Add), InstanceMethod("remove", &PeekSet::Remove),
                        InstanceMethod("close", &PeekSet::Close)});
  }

  // new PeekSet(callback(fds: number[])). The uv_poll is unref'd: pending peeks have deadline timers
  // that keep the loop alive; an empty set must not.
  explicit PeekSet(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PeekSet>(info), context_(info.Env(), "mcc.PeekSet") {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) ThrowArg(env, "PeekSet", "callback must be a function");
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) ThrowArg(env, "PeekSet", "no event loop");
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) ThrowErrno(env, "epoll_create1", errno);
    handle_ = new uv_poll_t;
    int rc = uv_poll_init(loop, handle_, epfd_);
    if (rc == 0) rc = uv_poll_start(handle_, UV_READABLE, OnEvent);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      close(epfd_);
      epfd_ = -1;
      ThrowErrno(env, "uv_poll_init", -rc);
    }
    handle_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
    // Alive as long as its handle: JS may drop the object, the loop still calls back into it.
    Ref();
  }

  ~PeekSet() override { Shut(); }

 private:
  // add(fd): level-triggered readable or peer shutdown. SO_RCVLOWAT on the socket decides "readable".
  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0, "PeekSet.add");
    if (epfd_ < 0) ThrowErrno(env, "PeekSet.add", EBADF, "set is closed");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) ThrowErrno(env, "epoll_ctl", errno, "add");
    return env.Undefined();
  }

  // remove(fd): must come before the fd is closed (a reused number must never find an old entry).
  // ENOENT/EBADF mean it is gone already, which is what the caller wants.
  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0, "PeekSet.remove");
    if (epfd_ >= 0 && epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT && errno != EBADF)
      ThrowErrno(env, "epoll_ctl", errno, "remove");
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shut();
    return info.Env().Undefined();
  }

  void Shut() {
    if (handle_ != nullptr) {
      handle_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      handle_ = nullptr;
      Unref();
    }
    if (epfd_ >= 0) {
      close(epfd_);
      epfd_ = -1;
    }
  }

  static void OnEvent(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<PeekSet*>(handle->data);
    if (self == nullptr || self->epfd_ < 0) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Array fds = Napi::Array::New(env);
    uint32_t n = 0;
    epoll_event events_buf[kBatch];
    for (int round = 0; round < kMaxRounds; round++) {
      int got = epoll_wait(self->epfd_, events_buf, kBatch, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      for (int i = 0; i < got; i++) fds.Set(n++, Napi::Number::New(env, events_buf[i].data.fd));
      if (got < kBatch) break;
    }
    if (n == 0) return;
    try {
      self->callback_.MakeCallback(self->Value(), {fds}, self->context_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  int epfd_ = -1;
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::AsyncContext context_;
};

}  // namespace

void InitPeekSet(Napi::Env env, Napi::Object exports) {
  exports.Set("PeekSet", PeekSet::Define(env));
}

}  // namespace mcc
