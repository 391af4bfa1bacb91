#!/usr/bin/env bash
# Takes docs/screenshot.png from the real k2cse-gui window: the demo (bundled sample config
# and a simulated K2 database) under a virtual X server. Needs xvfb and imagemagick
# (scripts/setup.sh installs them); uses Mesa's software renderer, no GPU.
#   scripts/screenshot.sh [OUTPUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshot.png}
display=:${K2CSE_SCREENSHOT_DISPLAY:-97}

scripts/release-build.sh host --quiet
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp &
xvfb=$!
trap 'kill "${app:-}" "$xvfb" 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display target/release/k2cse-gui --demo \
  --select 'SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com' &
app=$!
# First frame within a few seconds even on software rendering; wait until the window is drawn.
for _ in $(seq 60); do
  sleep 0.5
  if DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q 'k2cse'; then break; fi
done
sleep 3
DISPLAY=$display import -window root "$out"
echo "screenshot: $out"
