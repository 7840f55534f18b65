// Shared helpers for the mcc native addon: errno-carrying errors and argument validation.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mcc {

// Every failure becomes a JS Error with .errno (positive), .code ("EBADF"), .syscall ("recvmsg").
// The TypeScript facade turns these into NativeError instances.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail = "");

[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& detail = "");

// Argument errors carry EINVAL and the name of the addon function, so callers handle one error shape.
[[noreturn]] void ThrowArg(Napi::Env env, const char* fn, const std::string& what);

int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* fn);
uint32_t ArgUint(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, uint32_t max);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name);

const char* ErrnoName(int err);

// A receive buffer reused across calls (the addon runs on Node's main thread only). Allocating and
// zero-filling maxBytes for every recvmsg/peek cost more than the I/O itself for small messages.
uint8_t* ScratchBuffer(size_t size);

}  // namespace mcc
