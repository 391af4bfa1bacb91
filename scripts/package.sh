#!/usr/bin/env bash
# Release packages: one zip per platform with both programs, the README, the Windows guide
# and the licences; the Ansible collection with the module for Linux and Windows targets;
# SHA256SUMS over them all.
#   scripts/package.sh [OUT_DIR]          (default dist/)
#
#   dist/k2cse-<version>-x86_64-windows.zip   k2cse.exe, k2cse-gui.exe (mingw-w64 cross-build)
#   dist/k2cse-<version>-x86_64-linux.zip     k2cse, k2cse-gui
#   dist/k2cse-k2cse-<version>.tar.gz         the Ansible collection k2cse.k2cse (ansible/,
#                                             docs/ansible.md): the module k2cse_connection_string
#                                             and k2cse_connection_string.exe, built with
#                                             `ansible-galaxy collection build`
#   dist/SHA256SUMS                           `sha256sum -c SHA256SUMS` checks them
# Each zip holds one folder, k2cse-<version>-<platform>/; the script checks each zip's contents.
# Needs gcc-mingw-w64-x86-64, python3 (for the zip files) and ansible-galaxy (ansible-core);
# scripts/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
version=$(cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "k2cse"))')

# Linux: the host build (shared with `cargo run --release`); Windows: the mingw cross-build.
declare -A targets=([x86_64-windows]=x86_64-pc-windows-gnu [x86_64-linux]=host)
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for platform in x86_64-linux x86_64-windows; do
  target=${targets[$platform]}
  exe=""
  [ "$platform" = x86_64-windows ] && exe=.exe
  echo "package: building $target"
  scripts/release-build.sh "$target"
  if [ "$target" = host ]; then
    dir=target/release
  else
    dir=target/$target/release
  fi
  name=k2cse-$version-$platform
  mkdir -p "$stage/$name"
  for bin in k2cse k2cse-gui; do
    cp "$dir/$bin$exe" "$stage/$name/"
  done
  cp README.md LICENSE-MIT LICENSE-APACHE "$stage/$name/"
  cp docs/windows.md "$stage/$name/WINDOWS.md"
  rm -f "$out/$name.zip"
  (cd "$stage" && python3 - "$name" <<'PY'
import os, sys, zipfile
name = sys.argv[1]
with zipfile.ZipFile(f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(name):
        for f in sorted(files):
            path = os.path.join(root, f)
            info = zipfile.ZipInfo.from_file(path)
            # Executable bits survive for unzip on Linux; Windows ignores them.
            info.external_attr = (os.stat(path).st_mode & 0o777) << 16
            with open(path, "rb") as fh:
                z.writestr(info, fh.read(), zipfile.ZIP_DEFLATED)
PY
  )
  mv "$stage/$name.zip" "$out/"
  # Check what went in: both programs, the README, the guide and both licences.
  python3 - "$out/$name.zip" "$name" "$exe" <<'PY'
import sys, zipfile
path, name, exe = sys.argv[1:]
names = set(zipfile.ZipFile(path).namelist())
want = {f"{name}/{f}" for f in [f"k2cse{exe}", f"k2cse-gui{exe}", "README.md", "WINDOWS.md", "LICENSE-MIT", "LICENSE-APACHE"]}
missing = want - names
if missing:
    sys.exit(f"package: {path} lacks {sorted(missing)}")
print(f"package: {path}: {len(names)} files")
PY
done
# The Ansible collection: ansible/ with the module programs in plugins/modules/ (Linux targets
# run the file without extension, Windows targets the .exe; ansible-doc reads the .py beside
# them), its version set to the workspace's.
collection=$stage/collection
cp -r ansible "$collection"
cp target/release/k2cse_connection_string "$collection/plugins/modules/"
cp target/x86_64-pc-windows-gnu/release/k2cse_connection_string.exe "$collection/plugins/modules/"
sed -i "s/^version: .*/version: $version/" "$collection/galaxy.yml"
tarball=k2cse-k2cse-$version.tar.gz
rm -f "$out/$tarball"
ansible-galaxy collection build --output-path "$out" "$collection"
python3 - "$out/$tarball" <<'PY'
import sys, tarfile
path = sys.argv[1]
names = set(tarfile.open(path).getnames())
want = {"MANIFEST.json", "FILES.json", "plugins/modules/k2cse_connection_string",
        "plugins/modules/k2cse_connection_string.exe", "plugins/modules/k2cse_connection_string.py",
        "examples/inventory.ini", "examples/smtp-relay.yml"}
missing = want - names
if missing:
    sys.exit(f"package: {path} lacks {sorted(missing)}")
print(f"package: {path}: {len(names)} files")
PY

(cd "$out" && sha256sum k2cse-"$version"-*.zip "$tarball" > SHA256SUMS && sha256sum -c SHA256SUMS)
