{
  "targets": [
    {
      "target_name": "mcc_native",
      "sources": [
        "src/addon.cc",
        "src/fdpass.cc",
        "src/sockinfo.cc",
        "src/diag.cc",
        "src/poll.cc",
        "src/memory.cc",
        "src/smbdirect.cc",
        "src/acceptor.cc",
        "src/listen.cc",
        "src/fdset.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fexceptions"]
    }
  ]
}
