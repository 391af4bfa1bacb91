#!/usr/bin/env bash
# The real k2cse-gui window starts, draws the demo and is captured (scripts/screenshot.sh into
# a temporary file); fails if the capture is missing or blank. A CI step: the kittest suite
# covers the flows, this covers the window system, renderer and fonts on a virtual display.
set -euo pipefail
cd "$(dirname "$0")/.."
shot=$(mktemp --suffix=.png)
trap 'rm -f "$shot"' EXIT
scripts/screenshot.sh "$shot"
colors=$(identify -format '%k' "$shot")
echo "gui-smoke: $(identify -format '%wx%h' "$shot"), $colors colours"
if [ "$colors" -lt 16 ]; then
  echo "gui-smoke: the window looks blank" >&2
  exit 1
fi
