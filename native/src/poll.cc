// FdWatcher: readiness of a raw fd on the Node event loop (uv_poll), so carriers and peeked client
// sockets are waited on without busy loops and without libuv ever reading them.
#include <uv.h>

#include "common.h"

namespace mcc {
namespace {

class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {InstanceMethod("start", &FdWatcher::Start), InstanceMethod("stop", &FdWatcher::Stop),
                        InstanceMethod("close", &FdWatcher::Close), InstanceMethod("ref", &FdWatcher::RefLoop),
                        InstanceMethod("unref", &FdWatcher::UnrefLoop)});
  }

  // new FdWatcher(fd, callback(errorCode, readable, writable)). The fd stays owned by the caller and
  // must stay open until close() is called.
  explicit FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info), context_(info.Env(), "mcc.FdWatcher") {
    Napi::Env env = info.Env();
    fd_ = ArgFd(info, 0, "FdWatcher");
    if (info.Length() < 2 || !info[1].IsFunction()) ThrowArg(env, "FdWatcher", "callback must be a function");
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) ThrowArg(env, "FdWatcher", "no event loop");
    handle_ = new uv_poll_t;
    int rc = uv_poll_init(loop, handle_, fd_);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      ThrowErrno(env, "uv_poll_init", -rc);
    }
    handle_->data = this;
  }

  ~FdWatcher() override {
    // If JS dropped the object without close(), the handle is still registered: close it now.
    if (handle_ != nullptr) {
      handle_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    }
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (handle_ == nullptr) ThrowErrno(env, "FdWatcher.start", EBADF, "watcher is closed");
    uint32_t events = ArgUint(info, 0, "FdWatcher.start", "events", 3);
    if (events == 0) ThrowArg(env, "FdWatcher.start", "events must be 1 (readable), 2 (writable) or 3");
    int uvEvents = ((events & 1) ? UV_READABLE : 0) | ((events & 2) ? UV_WRITABLE : 0);
    int rc = uv_poll_start(handle_, uvEvents, OnEvent);
    if (rc != 0) ThrowErrno(env, "uv_poll_start", -rc);
    // While polling, keep the JS object alive even if the caller drops its reference.
    if (!active_) {
      Ref();
      active_ = true;
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling();
    if (handle_ != nullptr) {
      handle_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      handle_ = nullptr;
    }
    return info.Env().Undefined();
  }

  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
    return info.Env().Undefined();
  }

  void StopPolling() {
    if (handle_ != nullptr) uv_poll_stop(handle_);
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  static void OnEvent(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<FdWatcher*>(handle->data);
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Value error = status < 0 ? Napi::String::New(env, uv_err_name(status)) : env.Null();
    try {
      self->callback_.MakeCallback(self->Value(),
                                   {error, Napi::Boolean::New(env, (events & UV_READABLE) != 0),
                                    Napi::Boolean::New(env, (events & UV_WRITABLE) != 0)},
                                   self->context_);
    } catch (const Napi::Error& e) {
      // A throwing JS callback becomes an uncaught exception in Node, as for any event handler.
      napi_fatal_exception(env, e.Value());
    }
  }

  int fd_ = -1;
  uv_poll_t* handle_ = nullptr;
  bool active_ = false;
  Napi::FunctionReference callback_;
  Napi::AsyncContext context_;
};

}  // namespace

void InitPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("FdWatcher", FdWatcher::Define(env));
}

}  // namespace mcc
