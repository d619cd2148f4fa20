#!/usr/bin/env bash
# Builds the cuBLAS shim (src/main/native/cublas_shim.cpp) into the jar's classes:
#   CLASSES/dev/saetrain/device/cuda/native/linux-x86_64/libsaetrain_cublas.so
# A JNI library that opens libcublas.so.13 or .so.12 at run time (dlopen); it needs jni.h from the JDK and g++, no
# CUDA toolkit. mvn compile runs it (exec-maven-plugin). By hand: scripts/build-native.sh target/classes [JDK_HOME]
#
# Where it cannot build the library (no g++, no jni.h: Maven on a JRE, not Linux x86-64) it prints why and exits 0:
# the jar then carries no shim, and on CUDA the dense products use the project's GEMM kernel (the log says so).
# g++ failing on the source is an error (exit 1).
set -euo pipefail

die() { echo "native: error: $*" >&2; exit 1; }
skip() {
  echo "native: skipped: $*; the jar carries no cuBLAS shim (dense products on CUDA will use the project's GEMM kernel)"
  exit 0
}

[ $# -ge 1 ] || die "usage: scripts/build-native.sh CLASSES_DIR [JDK_HOME]"
classes=$1
jdk=${2:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac || command -v java)")")")}}
repo=$(cd "$(dirname "$0")/.." && pwd)
src=$repo/src/main/native/cublas_shim.cpp
out_dir=$classes/dev/saetrain/device/cuda/native/linux-x86_64
out=$out_dir/libsaetrain_cublas.so
cxx=${CXX:-g++}

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || skip "the shim is built for linux-x86_64, this is $(uname -s)/$(uname -m)"
command -v "$cxx" >/dev/null 2>&1 || skip "no $cxx on PATH (install g++ to build it)"
[ -f "$jdk/include/jni.h" ] && [ -f "$jdk/include/linux/jni_md.h" ] \
  || skip "no jni.h in $jdk/include (Maven runs on a JRE; a JDK 17+ has it)"

# Up to date: nothing to do (mvn compile runs this every time).
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$out_dir"
tmp=$(mktemp "$out_dir/.libsaetrain_cublas.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# No C++ runtime (no exceptions, RTTI or standard library in the source): the library needs only glibc.
"$cxx" -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror -fvisibility=hidden \
  -fno-exceptions -fno-rtti -nodefaultlibs -Wl,--no-undefined -Wl,-z,defs \
  -I"$jdk/include" -I"$jdk/include/linux" -o "$tmp" "$src" -Wl,--no-as-needed -l:libdl.so.2 -lc \
  || die "$cxx could not build $src"
strip --strip-unneeded "$tmp" 2>/dev/null || true
chmod 755 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "native: built $out ($(stat -c %s "$out") bytes, $("$cxx" --version | head -1))"
