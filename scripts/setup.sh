#!/usr/bin/env bash
# Installs what building, testing and benchmarking k2cse needs on Debian 12 (bookworm).
#   scripts/setup.sh [--fuzz]
#
#   Mono's .NET class library  the interop oracles (tests/oracle/*.cs) - required by the tests
#   mingw-w64                  the Windows build (x86_64-pc-windows-gnu), scripts/package.sh
#   wine, wine64               the Windows build's tests (scripts/wine-tests.sh)
#   xmlsec1, openssl           independent checks of encrypted sections
#   xmlstarlet, strace, time   bench/run.sh (anchors, fsync counts, peak memory)
#   freetds-bin, python-tds    TDS clients no one here wrote, run against k2cse-mssql-sim
#   sqlglot, sqlfluff          independent T-SQL parsers for every statement k2cse sends
#   mesa-vulkan-drivers, ...   CPU rendering for the GUI snapshot tests (egui_kittest + wgpu)
#   xvfb, imagemagick, ...     the real GUI window under a virtual X server (scripts/screenshot.sh,
#                              scripts/gui-smoke.sh: xdotool reads its title)
#   bsdutils                   `script`: a pseudo-terminal for the progress-bar test
#   ansible-core (PyPI), openssh-server, openssh-client
#                              the Ansible module's tests: ansible-playbook against a local
#                              host and an sshd on 127.0.0.1 (tests/tests/ansible.rs)
#   nightly Rust, cargo-fuzz   only with --fuzz: new fuzzing runs (fuzz/run.sh, fuzz/replay.sh);
#                              the committed corpora are replayed by `cargo test` on stable
#
# Safe to run again: packages already installed are skipped, unless CI=true (then apt-get
# update and install always run, as on a fresh machine).
set -euo pipefail

packages=(
  mono-mcs mono-runtime
  libmono-system-configuration4.0-cil libmono-system-data4.0-cil
  libmono-system-security4.0-cil libmono-system-xml4.0-cil
  libmono-i18n-west4.0-cil
  gcc-mingw-w64-x86-64 wine wine64
  xmlsec1 openssl
  xmlstarlet hyperfine strace time python3
  freetds-bin
  mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0
  xvfb xauth x11-utils xdotool imagemagick
  bsdutils
  openssh-server openssh-client
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if [ "${CI:-}" = "true" ] || ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# python-tds (PyPI): a second independent TDS client for the simulator tests.
if ! python3 -c "import pytds" 2>/dev/null; then
  echo "setup: installing python-tds"
  python3 -m pip install --quiet python-tds \
    || python3 -m pip install --quiet --break-system-packages python-tds
fi
# sqlglot and sqlfluff (PyPI): independent T-SQL parsers for every statement k2cse sends
# (scripts/check-tsql.py, tests/tests/tsql_parsers.rs).
if ! python3 -c "import sqlglot, sqlfluff" 2>/dev/null; then
  echo "setup: installing sqlglot and sqlfluff"
  python3 -m pip install --quiet sqlglot sqlfluff \
    || python3 -m pip install --quiet --break-system-packages sqlglot sqlfluff
fi

# ansible-core (PyPI): the real engine for the Ansible module's tests (tests/tests/ansible.rs)
# and ansible-galaxy for the collection tarball (scripts/package.sh).
if ! command -v ansible-playbook >/dev/null || ! command -v ansible-galaxy >/dev/null; then
  echo "setup: installing ansible-core"
  python3 -m pip install --quiet ansible-core \
    || python3 -m pip install --quiet --break-system-packages ansible-core
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust 1.95 or later with rustup (https://rustup.rs)" >&2
  exit 1
fi
if command -v rustup >/dev/null; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  rustup target add x86_64-pc-windows-gnu >/dev/null
fi
if [ "${1:-}" = "--fuzz" ]; then
  # New fuzzing runs (fuzz/run.sh, docs/reliability.md) build with nightly and cargo-fuzz.
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1
  if ! command -v cargo-fuzz >/dev/null && ! [ -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
    echo "setup: installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
  fi
fi
echo "setup: ready ($(cargo --version), $(mono --version | head -n1))"
