#!/usr/bin/env bash
# Builds libmeddistill_torch.so, the C ABI shim over libtorch, into the folder given as $1.
# Which libtorch: $LIBTORCH (a folder with include/ and lib/: the official archive or a PyTorch
# wheel's torch/ folder), else Debian's libtorch-dev at the system paths. make does the
# incremental part: objects are rebuilt only when a source, shim.h or the compile flags change.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build-shim.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"  # make runs in this folder, so a relative OUTDIR would land here

if [ -n "${LIBTORCH:-}" ]; then
  root="$(cd "$LIBTORCH" 2>/dev/null && pwd)" || { echo "build-shim: LIBTORCH=$LIBTORCH is not a folder" >&2; exit 2; }
  if [ ! -f "$root/include/torch/csrc/api/include/torch/torch.h" ] || [ ! -f "$root/lib/libtorch.so" ]; then
    echo "build-shim: LIBTORCH=$root has no include/torch/csrc/api/include/torch/torch.h or lib/libtorch.so" >&2; exit 2
  fi
  inc="-isystem $root/include -isystem $root/include/torch/csrc/api/include"
  libdir="$root/lib"
  # PyTorch wheels before 2.7 were built with the old libstdc++ ABI; the shim must match.
  abi=1
  cfg="$root/share/cmake/Torch/TorchConfig.cmake"
  if [ -f "$cfg" ] && grep -q '_GLIBCXX_USE_CXX11_ABI=0' "$cfg"; then abi=0; fi
  libs="-L$libdir -Wl,-rpath,$libdir -Wl,--no-as-needed"
  [ -f "$libdir/libtorch_cuda.so" ] && libs="$libs -ltorch_cuda -lc10_cuda"
  libs="$libs -ltorch -ltorch_cpu -lc10 -Wl,--as-needed"
  source_name="LIBTORCH=$root"
elif [ -f /usr/include/torch/csrc/api/include/torch/torch.h ] && [ -e /usr/lib/x86_64-linux-gnu/libtorch.so ] || \
     [ -f /usr/include/torch/csrc/api/include/torch/torch.h ] && [ -e "/usr/lib/$(uname -m)-linux-gnu/libtorch.so" ]; then
  inc="-isystem /usr/include/torch/csrc/api/include"
  abi=1
  libs="-Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed"
  source_name="debian libtorch-dev"
else
  echo "build-shim: no libtorch found. Install Debian's libtorch-dev (apt-get install -y libtorch-dev) or set LIBTORCH to a libtorch folder." >&2
  exit 2
fi
command -v g++ >/dev/null || { echo "build-shim: g++ is missing (apt-get install -y g++ make)" >&2; exit 2; }
command -v make >/dev/null || { echo "build-shim: make is missing (apt-get install -y make)" >&2; exit 2; }

cxxflags="-std=c++17 -O2 -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=$abi $inc -Wno-deprecated-declarations"
jobs="$(nproc 2>/dev/null || echo 2)"
make --no-print-directory -s -C "$here" -j"$jobs" OUT="$out" CXXFLAGS_TORCH="$cxxflags" LDLIBS_TORCH="$libs" SOURCE_NAME="$source_name"
