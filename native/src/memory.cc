// Shared memory for the SMB-Direct test protocol: memfd regions mapped into ArrayBuffers, so a
// region registered by one process can be read and written in place by another that received the fd.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

namespace mcc {
namespace {

constexpr uint32_t kMaxRegion = 1u << 30;

Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "memfdCreate", "name");
  uint32_t size = ArgUint(info, 1, "memfdCreate", "size", kMaxRegion);
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) ThrowErrno(env, "memfd_create", errno);
  if (ftruncate(fd, size) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "ftruncate", err);
  }
  return Napi::Number::New(env, fd);
}

// mapShared(fd) -> ArrayBuffer over the whole file, MAP_SHARED; unmapped when the buffer is collected.
Napi::Value MapShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "mapShared");
  struct stat st {};
  if (fstat(fd, &st) != 0) ThrowErrno(env, "fstat", errno);
  if (st.st_size <= 0 || st.st_size > kMaxRegion) ThrowErrno(env, "mapShared", EINVAL, "region size must be 1..1 GiB");
  size_t size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) ThrowErrno(env, "mmap", errno);
  return Napi::ArrayBuffer::New(env, p, size, [](Napi::Env, void* data, size_t* len) {
    munmap(data, *len);
    delete len;
  }, new size_t(size));
}

Napi::Value FdSize(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fdSize");
  struct stat st {};
  if (fstat(fd, &st) != 0) ThrowErrno(info.Env(), "fstat", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(st.st_size));
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate));
  exports.Set("mapShared", Napi::Function::New(env, MapShared));
  exports.Set("fdSize", Napi::Function::New(env, FdSize));
}

}  // namespace mcc
