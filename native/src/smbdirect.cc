// Honest SMB-Direct probe: try to create a userspace SMB-Direct socket with each candidate
// (family, type, protocol) and report exactly what the kernel said.
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

namespace mcc {
namespace {

// smbdirectTry(family, type, protocol) -> {ok, errno, code}
Napi::Value SmbdirectTry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t family = ArgUint(info, 0, "smbdirectTry", "family", 255);
  uint32_t type = ArgUint(info, 1, "smbdirectTry", "type", 0xffff);
  uint32_t protocol = ArgUint(info, 2, "smbdirectTry", "protocol", 0xffff);
  int fd = socket(static_cast<int>(family), static_cast<int>(type) | SOCK_CLOEXEC, static_cast<int>(protocol));
  Napi::Object out = Napi::Object::New(env);
  if (fd >= 0) {
    close(fd);
    out.Set("ok", true);
    out.Set("errno", 0);
    out.Set("code", "OK");
  } else {
    int err = errno;
    out.Set("ok", false);
    out.Set("errno", err);
    out.Set("code", ErrnoName(err));
    out.Set("message", strerror(err));
  }
  return out;
}

}  // namespace

void InitSmbDirect(Napi::Env env, Napi::Object exports) {
  exports.Set("smbdirectTry", Napi::Function::New(env, SmbdirectTry));
}

}  // namespace mcc
