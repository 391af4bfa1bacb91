#!/usr/bin/env bash
# The Windows build, tested under Wine (a CI step; docs/windows.md):
#   1. cross-builds the release k2cse.exe, k2cse-gui.exe and the Ansible module
#      k2cse_connection_string.exe with mingw-w64;
#   2. prepares a 64-bit Wine prefix with the bcryptprimitives.dll stand-in (tests/wine/);
#   3. on a virtual X display, runs tests/tests/wine_cli.rs, wine_ansible.rs and wine_gui.rs
#      (the .exe files against the Linux build, a real CryptoAPI container, DPAPI, Credential Manager, the
#      registry, the GUI window), then the unit tests of the core, the GUI and the Ansible module
#      and the GUI's kittest suites built for Windows (release profile, sharing the .exe files'
#      dependencies), through Wine.
# Needs wine, wine64, gcc-mingw-w64-x86-64, xvfb and imagemagick (scripts/setup.sh). Fails,
# never skips, when one is missing.
#   scripts/wine-tests.sh            K2CSE_WINE_PREFIX=DIR keeps the prefix somewhere else
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in wine x86_64-w64-mingw32-gcc x86_64-w64-mingw32-objdump Xvfb import identify; do
  if ! command -v "$tool" >/dev/null; then
    echo "wine-tests: $tool is missing; run scripts/setup.sh" >&2
    exit 1
  fi
done

target=x86_64-pc-windows-gnu
bin=$PWD/target/$target/release
prefix=${K2CSE_WINE_PREFIX:-$PWD/target/wine-prefix}
display=:${K2CSE_WINE_DISPLAY:-98}

echo "wine-tests: building the release .exe files"
scripts/release-build.sh "$target"

export WINEPREFIX=$prefix WINEARCH=win64 WINEDEBUG=-all
if [ ! -f "$prefix/system.reg" ]; then
  echo "wine-tests: creating the Wine prefix $prefix"
  mkdir -p "$prefix"
  wineboot --init >/dev/null 2>&1 || true
  wineserver --wait
fi
# Debian 12's Wine 8.0 lacks bcryptprimitives.dll (ProcessPrng), which every Rust .exe needs.
x86_64-w64-mingw32-gcc -O2 -shared -o "$prefix/drive_c/windows/system32/bcryptprimitives.dll" \
  tests/wine/bcryptprimitives.c -ladvapi32
if ! wine "$bin/k2cse.exe" --version; then
  echo "wine-tests: k2cse.exe does not start under Wine" >&2
  exit 1
fi

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp &
xvfb=$!
trap 'kill "$xvfb" 2>/dev/null || true; wineserver -k 2>/dev/null || true' EXIT
sleep 1
export DISPLAY=$display K2CSE_WINDOWS_BIN=$bin

echo "wine-tests: the .exe files against the Linux build"
cargo test --locked --workspace --test wine_cli --test wine_db --test wine_ansible --test wine_gui -- --ignored --test-threads=1

echo "wine-tests: the core's unit tests and the GUI's kittest suites, built for Windows"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
# In the release profile and with the package set of scripts/release-build.sh (plus the core):
# cargo resolves features over the packages of one invocation, so these are the features the
# .exe files above were built with, and no dependency is compiled a second time for the tests.
# (crates/gui/Cargo.toml turns on the one feature the GUI tests' dependencies would add.)
cargo test --release --locked --target "$target" -p k2cse -p k2cse-gui -p k2cse-ansible -p k2cse-core \
  --lib --test ui --test snapshots
echo "wine-tests: screenshots in target/wine/"
