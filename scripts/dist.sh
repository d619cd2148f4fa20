#!/usr/bin/env bash
# Builds the self-contained bundle TARGET/sae-train-VERSION-linux-x86_64/ (and its .tar.gz) from TARGET/sae-train.jar:
#
#   bin/sae-train        the launcher (scripts/sae-train.launcher): runs runtime/bin/java -jar lib/sae-train.jar "$@"
#   lib/sae-train.jar    the shaded jar less what never loads on linux-x86_64 (see DROP_FROM_JAR), with the cuBLAS
#                        shim (scripts/build-native.sh) when the build had g++
#   runtime/             a Java runtime made by jlink with only the modules below
#
# Then checks it: jdeps finds no module the runtime lacks, the folder is at most MAX_MIB (printed), and the bundle's
# own runtime runs `bench` on the CPU (JavaCPP must find OpenBLAS in the slim jar) and probes CUDA (the JCuda natives
# must load, or the probe must stop at the missing driver / device). Any failure exits 1 with one line.
#
# mvn package runs it (exec-maven-plugin; -Ddist.skip=true leaves it out). By hand, after mvn package:
#   scripts/dist.sh target 0.1.0-SNAPSHOT 55 [JDK_HOME]      (MAX_MIB: pom.xml's dist.maxMib)
# Where there is no jlink (Maven on a JRE) or the machine is not linux-x86_64 it prints why and exits 0.
set -euo pipefail

# The runtime's modules; jdeps on the jar must find nothing outside MODULES and OPTIONAL_MODULES.
MODULES=(
  java.base
  java.logging     # JCuda's native loader and Jackson log through java.util.logging
  java.xml         # logback reads logback.xml with SAX
  java.naming      # logback's configurator links a handler for <insertFromJNDI> whenever it reads logback.xml
  java.management  # ManagementFactory: HeapTrim's diagnostic bean, MemoryPlan's operating-system bean
  jdk.management   # MemoryPlan reads physical memory from com.sun.management.OperatingSystemMXBean
  jdk.unsupported  # sun.misc.Signal (StopSignals: checkpoint on SIGTERM / SIGINT); sun.misc.Unsafe (JavaCPP)
)
# jdeps also names java.sql, but only from classes that load it when asked to ("requires static" in Jackson's and
# logback's module-info): Jackson's java.sql.Date support, logback's database appender. Nothing here uses either.
# And java.desktop (the plots are our own, dev.saetrain.plot, on java.base): Jackson's Java7SupportImpl reads the
# java.beans annotations @ConstructorProperties and @Transient, which nothing here carries, and Jackson loads it by
# reflection and does without it when it fails; commons-math's 2-D geometry Line, which nothing here loads.
OPTIONAL_MODULES=(java.sql java.desktop)

# Entries of the shaded jar that never load on linux-x86_64 (extended glob patterns, relative to the jar's root).
DROP_FROM_JAR=(
  'lib/libJNvPTXCompiler-*'                              # JCuda's PTX compiler: the driver loads our PTX (cuModuleLoadData)
  'lib/libJNvrtc-*'                                      # JCuda's runtime compiler: nothing compiles CUDA C at run time
  'lib/libJCudaRuntime-*'                                # JCuda's runtime API: we use the driver API (cuBLAS: our shim)
  'org/bytedeco/openblas/linux-x86_64/libjniopenblas.so' # JNI of the LAPACK class; we load openblas_nolapack only
  'org/bytedeco/openblas/linux-x86_64/include'           # C headers, for compiling against OpenBLAS
  'org/jline/nativ/!(Linux)'                             # the progress bar's terminal natives for other systems
  'org/jline/nativ/Linux/!(x86_64)'
)
# What must stay: JavaCPP's and OpenBLAS's natives (libjniopenblas_nolapack preloads the others) and JCuda's driver.
KEEP_IN_JAR=(
  org/bytedeco/javacpp/linux-x86_64/libjnijavacpp.so
  org/bytedeco/openblas/linux-x86_64/libjniopenblas_nolapack.so
  org/bytedeco/openblas/linux-x86_64/libopenblas.so.0
  org/bytedeco/openblas/linux-x86_64/libgfortran.so.5
  org/bytedeco/openblas/linux-x86_64/libquadmath.so.0
  org/bytedeco/openblas/linux-x86_64/libgcc_s.so.1
  lib/libJCudaDriver-*-linux-x86_64.so
)

die() { echo "dist: error: $*" >&2; exit 1; }
skip() { echo "dist: skipped: $*; target/sae-train.jar is built as usual"; exit 0; }

[ $# -ge 3 ] || die "usage: scripts/dist.sh TARGET_DIR VERSION MAX_MIB [JDK_HOME]"
target=$1
version=$2
MAX_MIB=$3
jdk=${4:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}}
repo=$(cd "$(dirname "$0")/.." && pwd)
jar=$target/sae-train.jar
name=sae-train-$version-linux-x86_64
out=$target/$name

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] \
  || skip "the bundle carries linux-x86_64 natives and a runtime of the building JDK; build it on Linux x86-64"
[ -x "$jdk/bin/jlink" ] || skip "no jlink in $jdk/bin (Maven runs on a JRE); a JDK 17+ builds the bundle"
[ -d "$jdk/jmods" ] || skip "$jdk has no jmods/ for jlink (Debian, Ubuntu: install openjdk-17-jmods)"
[ -f "$jar" ] || die "$jar is missing: run mvn package first"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out" "$out.tar.gz"

# 1. jdeps: every module the jar's classes name is in the runtime or known to be optional.
deps=$("$jdk/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 "$jar") || die "jdeps failed on $jar"
for m in ${deps//,/ }; do
  [[ " ${MODULES[*]} ${OPTIONAL_MODULES[*]} " == *" $m "* ]] \
    || die "jdeps: the jar uses module $m, which the runtime lacks: add it to MODULES in scripts/dist.sh (with why)"
done
# Optional modules are for other libraries' unused corners: the program's own classes need MODULES alone.
own=$("$jdk/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 -include 'dev\.saetrain\..*' "$jar") \
  || die "jdeps failed on $jar"
for m in ${own//,/ }; do
  [[ " ${MODULES[*]} " == *" $m "* ]] \
    || die "jdeps: dev.saetrain's classes use module $m, which the runtime lacks: use java.base, or add it to MODULES"
done

# 2. The runtime. jlink 21+ takes zip-N and deprecates the numeric levels; 17 knows only 0, 1, 2.
major=$("$jdk/bin/jlink" --version | cut -d. -f1)
compress=2
[ "$major" -ge 21 ] && compress=zip-9
mkdir -p "$out/bin" "$out/lib"
"$jdk/bin/jlink" --add-modules "$(IFS=,; echo "${MODULES[*]}")" --strip-debug --no-man-pages --no-header-files \
  --compress="$compress" --output "$out/runtime" || die "jlink failed (JDK $jdk)"
# Some JDKs (Debian's) ship their libraries with symbol tables, which jlink's --strip-native-debug-symbols keeps:
# 4 MiB of libjvm.so alone. strip comes with binutils, which g++ needs; without it the libraries stay as they are.
if command -v strip >/dev/null 2>&1; then
  find "$out/runtime" -name '*.so' -exec strip --strip-unneeded {} + || die "strip failed on $out/runtime"
else
  echo "dist: no strip on PATH (binutils): the runtime's libraries keep their symbol tables"
fi

# 3. The slim jar: the shaded jar unpacked, the dropped entries removed, packed again with the same manifest.
mkdir "$work/jar"
jar_abs=$(readlink -f "$jar")
(cd "$work/jar" && "$jdk/bin/jar" -xf "$jar_abs") || die "could not unpack $jar"
shopt -s extglob nullglob
for p in "${DROP_FROM_JAR[@]}"; do
  # shellcheck disable=SC2086 # p is a glob
  (cd "$work/jar" && rm -rf $p)
done
for p in "${KEEP_IN_JAR[@]}"; do
  # shellcheck disable=SC2206 # p is a glob
  hits=($work/jar/$p)
  [ ${#hits[@]} -gt 0 ] || die "the slim jar lacks $p, which the program loads on linux-x86_64 (see KEEP_IN_JAR)"
done
# The cuBLAS shim is optional: a build without g++ has none, and CUDA then uses the project's GEMM kernel.
if [ -f "$work/jar/dev/saetrain/device/cuda/native/linux-x86_64/libsaetrain_cublas.so" ]; then
  shim="cuBLAS shim included"
else
  shim="no cuBLAS shim (built without g++: CUDA dense products will use the project's GEMM kernel)"
fi
mv "$work/jar/META-INF/MANIFEST.MF" "$work/MANIFEST.MF"
"$jdk/bin/jar" --create --file "$out/lib/sae-train.jar" --manifest "$work/MANIFEST.MF" -C "$work/jar" . \
  || die "could not pack $out/lib/sae-train.jar"
install -m 755 "$repo/scripts/sae-train.launcher" "$out/bin/sae-train"

# 4. Size.
mib_of() { du -s --apparent-size --block-size=1 "$1" | awk '{ printf "%.1f", $1 / 1048576 }'; }
bytes=$(du -s --apparent-size --block-size=1 "$out" | cut -f1)
mib=$(mib_of "$out")
sizes="runtime $(mib_of "$out/runtime") MiB, jar $(mib_of "$out/lib/sae-train.jar") MiB"
[ "$bytes" -le $((MAX_MIB * 1048576)) ] \
  || die "$out is $mib MiB ($sizes), over the $MAX_MIB MiB limit (dist.maxMib): drop modules or jar entries in scripts/dist.sh"

# 5. The bundle runs on its own runtime, with fresh native caches so nothing comes from an earlier extraction.
opts="-Dorg.bytedeco.javacpp.cachedir=$work/javacpp -Djava.io.tmpdir=$work"
bench=$(env -u JAVA_HOME JAVA_OPTS="$opts" "$out/bin/sae-train" bench --device cpu --threads 1 --steps 1 \
  --warmup-steps 0 --d 32 --expansion 2 --k 4 --batch 64 2>&1) || { echo "$bench" | tail -20; die "bench on the bundle failed"; }
grep -q '"tokens_per_s"' <<<"$bench" || { echo "$bench" | tail -20; die "bench on the bundle printed no JSON line"; }
set +e
cuda=$(env -u JAVA_HOME JAVA_OPTS="$opts" "$out/bin/sae-train" bench --device cuda --steps 1 --warmup-steps 0 \
  --d 32 --expansion 2 --k 4 --batch 64 2>&1)
cuda_rc=$?
set -e
# No driver or no device is an answer (exit 2, one line); JCuda's own library failing to load is a broken bundle.
if [ $cuda_rc -eq 0 ]; then
  cuda="CUDA bench ran"
elif [ $cuda_rc -ne 2 ] || grep -q "JCuda driver library could not be loaded" <<<"$cuda"; then
  echo "$cuda" | tail -5
  die "--device cuda on the bundle: the JCuda natives did not load (exit $cuda_rc)"
fi

# 6. The archive.
tar -C "$target" -czf "$out.tar.gz" "$name" || die "tar failed"
gz=$(awk -v b="$(stat -c %s "$out.tar.gz")" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "dist: $out: $mib MiB unpacked ($sizes; limit $MAX_MIB MiB), $name.tar.gz $gz MiB"
echo "dist: $shim"
echo "dist: runtime modules: $(IFS=,; echo "${MODULES[*]}") (jlink $major, --compress=$compress)"
echo "dist: bundle check: bench on the CPU ok; --device cuda: $(tail -1 <<<"$cuda")"
