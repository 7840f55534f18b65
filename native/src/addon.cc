// Entry point of the mcc native addon and the shared error helpers.
#include <napi.h>

#include <vector>

#include "common.h"

namespace mcc {

const char* ErrnoName(int err) {
  switch (err) {
#define C(e) \
  case e:    \
    return #e;
    C(EPERM) C(ENOENT) C(EINTR) C(EIO) C(EBADF) C(EAGAIN) C(ENOMEM) C(EACCES) C(EFAULT) C(EBUSY)
    C(EEXIST) C(ENOTDIR) C(EINVAL) C(ENFILE) C(EMFILE) C(ENOSPC) C(EPIPE) C(ERANGE) C(ENOSYS)
    C(ENOTSOCK) C(EDESTADDRREQ) C(EMSGSIZE) C(EPROTOTYPE) C(ENOPROTOOPT) C(EPROTONOSUPPORT)
    C(ESOCKTNOSUPPORT) C(EOPNOTSUPP) C(EPFNOSUPPORT) C(EAFNOSUPPORT) C(EADDRINUSE) C(EADDRNOTAVAIL)
    C(ENETDOWN) C(ENETUNREACH) C(ECONNABORTED) C(ECONNRESET) C(ENOBUFS) C(EISCONN) C(ENOTCONN)
    C(ETIMEDOUT) C(ECONNREFUSED) C(EHOSTUNREACH) C(EALREADY) C(EINPROGRESS) C(ENODEV) C(ENXIO)
    C(E2BIG) C(ENOTTY) C(EROFS) C(ESPIPE)
#undef C
    default:
      return "EUNKNOWN";
  }
}

uint8_t* ScratchBuffer(size_t size) {
  static std::vector<uint8_t> scratch;
  if (scratch.size() < size) scratch.resize(size);
  return scratch.data();
}

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail) {
  std::string message = std::string(syscall) + ": " + strerror(err);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, ErrnoName(err)));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& detail) {
  throw ErrnoError(env, syscall, err, detail);
}

void ThrowArg(Napi::Env env, const char* fn, const std::string& what) {
  ThrowErrno(env, fn, EINVAL, what);
}

int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowArg(info.Env(), fn, "argument " + std::to_string(i) + " must be a file descriptor number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 0x7fffffff || v != static_cast<double>(static_cast<int>(v))) {
    ThrowArg(info.Env(), fn, "argument " + std::to_string(i) + " must be a non-negative integer file descriptor");
  }
  return static_cast<int>(v);
}

uint32_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, uint32_t max) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowArg(info.Env(), fn, std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > max || v != static_cast<double>(static_cast<uint32_t>(v))) {
    ThrowArg(info.Env(), fn, std::string(name) + " must be an integer in 0.." + std::to_string(max));
  }
  return static_cast<uint32_t>(v);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) ThrowArg(info.Env(), fn, std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

void InitFdPass(Napi::Env env, Napi::Object exports);
void InitSockInfo(Napi::Env env, Napi::Object exports);
void InitDiag(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitSmbDirect(Napi::Env env, Napi::Object exports);
void InitAcceptor(Napi::Env env, Napi::Object exports);
void InitListen(Napi::Env env, Napi::Object exports);
void InitFdSet(Napi::Env env, Napi::Object exports);

}  // namespace mcc

// Bumped whenever the exported surface changes; the TypeScript facade refuses a stale build.
static constexpr int kAbiVersion = 6;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  mcc::InitFdPass(env, exports);
  mcc::InitSockInfo(env, exports);
  mcc::InitDiag(env, exports);
  mcc::InitPoll(env, exports);
  mcc::InitMemory(env, exports);
  mcc::InitSmbDirect(env, exports);
  mcc::InitAcceptor(env, exports);
  mcc::InitListen(env, exports);
  mcc::InitFdSet(env, exports);
  return exports;
}

NODE_API_MODULE(mcc_native, Init)
