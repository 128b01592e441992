# Shared by scripts/run, scripts/test and scripts/bench: installs what is missing (Debian
# packages, the wasm-capable Rust toolchain, cargo-leptos, wasm-bindgen-cli, npm packages)
# and builds the release site. Every step is skipped when its result is already present.
# shellcheck shell=bash

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.11"
# One target directory outside the checkout, shared by every clone on this machine, so a
# fresh clone (CI) reuses compiled dependencies instead of rebuilding std and ~500 crates.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier/target}"
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$ROOT/node_modules/.bin:$CARGO_HOME/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Each step is timestamped, so a CI log shows where its time went.
say() { printf '\033[1m==> %s %s\033[0m\n' "$(date +%T)" "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
# ensure_apt PACKAGE... installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  say "Installing Debian packages: ${missing[*]}"
  if ((APT_UPDATED == 0)); then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A Rust toolchain that can build wasm32-unknown-unknown: rustup's when it has the target
# (a developer laptop), else Debian's rustc-web 1.96 with the std sources and rust-lld.
# The same toolchain builds the server, so artifacts are shared.
ensure_toolchain() {
  ensure_apt ca-certificates git pkg-config gcc libc6-dev curl brotli
  if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
     && rustc --version | awk '{split($2, v, "."); exit !(v[1] > 1 || v[2] >= 96)}'; then
    rustup component add rust-src clippy rustfmt >/dev/null 2>&1 || true
  else
    # rust-web-llvm provides the `rust-lld` link the wasm target links with (lld-22 alone does not).
    ensure_apt rustc-web cargo-web rust-web-src lld-22 rust-web-llvm rust-web-clippy rustfmt-web
    export PATH="/usr/bin:$PATH"
  fi
  # -Zbuild-std (std rebuilt for wasm32) is an unstable cargo flag on a stable toolchain.
  export RUSTC_BOOTSTRAP=1
}

ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_apt nodejs npm
  fi
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [[ ! -f $stamp || "$ROOT/package-lock.json" -nt $stamp ]]; then
    say "Installing npm packages (Tailwind, wasm-opt, PostHog's browser bundle, playwright-core)"
    # Not `npm ci`: the registry reachable here does not serve Tailwind's native packages for
    # other platforms, so the lock cannot list them and `npm ci` calls it out of sync.
    # `npm install` follows the lock for everything it lists and leaves it unchanged.
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  fi
}

installed_version() { "$1" --version 2>/dev/null | awk '{print $2}'; }

ensure_cargo_tools() {
  if [[ $(installed_version cargo-leptos) != "$CARGO_LEPTOS_VERSION" ]]; then
    say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (several minutes, once per machine)"
    # The crate's own profile uses fat LTO; turning it off saves most of the install time.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --root "$CARGO_HOME" --target-dir "$CARGO_TARGET_DIR/tools"
  fi
  local bindgen_version
  bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$ROOT/Cargo.lock")
  if [[ $(installed_version wasm-bindgen) != "$bindgen_version" ]]; then
    say "Installing wasm-bindgen-cli $bindgen_version (must match Cargo.lock)"
    # Not --locked: its lock file pins a webpki-roots release the registry no longer serves.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install wasm-bindgen-cli --version "$bindgen_version" --root "$CARGO_HOME" --target-dir "$CARGO_TARGET_DIR/tools"
  fi
}

# Everything needed to build the site.
ensure_build_tools() {
  ensure_toolchain
  ensure_node
  ensure_cargo_tools
}

# The release build: server binary, wasm (size-optimised, wasm-opt, split into a main
# module and one chunk per page; see app/src/routes.rs), hashed and precompressed assets
# under target/site.
build_release() {
  say "Building the release site (cargo leptos build --release --split)"
  # Chunks of different builds must never mix, and --split leaves old ones behind.
  rm -rf "$ROOT/target/site/pkg"
  (cd "$ROOT" && cargo leptos build --release --split --precompress)
  # PostHog's browser bundle from npm, served from our own origin (never PostHog's CDN) and
  # loaded only after analytics consent; its no-external build never fetches more code.
  install -D -m 644 "$ROOT/node_modules/posthog-js/dist/array.no-external.js" "$ROOT/target/site/vendor/posthog.js"
}

# Starts a PostgreSQL cluster of Debian's postgresql on a random loopback port in a
# temporary directory, stopped and removed when the calling script exits; sets
# ATELIER_TEST_POSTGRES_URL.
start_throwaway_postgres() {
  ensure_apt postgresql
  local bin dir port
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  dir=$(mktemp -d /tmp/atelier-pg.XXXXXX)
  port=$((20000 + RANDOM % 20000))
  chown postgres "$dir" 2>/dev/null || true
  local run=(runuser -u postgres --)
  [[ $(id -u) -eq 0 ]] || run=()
  "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
  # Expanded now: the locals are gone by the time the trap runs.
  trap "$(printf '%q ' "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop) >/dev/null 2>&1; rm -rf $(printf '%q' "$dir")" EXIT
  ATELIER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

server_binary() { echo "$CARGO_TARGET_DIR/release/server"; }
