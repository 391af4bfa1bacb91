#!/usr/bin/env bash
# The real k2cse-gui window starts, draws the demo and is captured (scripts/screenshot.sh into
# a temporary file); fails if the capture is missing or blank. Then the window title, read
# from the X server (xdotool getwindowname, or xwininfo where xdotool is missing), must name
# the open file: the title is how an admin tells two servers' windows apart. A CI step: the
# kittest suite covers the flows, this covers the window system, renderer and fonts on a
# virtual display.
#   K2CSE_GUI_BIN=target/debug/k2cse-gui scripts/gui-smoke.sh --title-only   (a local check)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${K2CSE_GUI_BIN:-target/release/k2cse-gui}

if [ "${1:-}" != "--title-only" ]; then
  shot=$(mktemp --suffix=.png)
  trap 'rm -f "$shot"' EXIT
  scripts/screenshot.sh "$shot"
  colors=$(identify -format '%k' "$shot")
  echo "gui-smoke: $(identify -format '%wx%h' "$shot"), $colors colours"
  if [ "$colors" -lt 16 ]; then
    echo "gui-smoke: the window looks blank" >&2
    exit 1
  fi
fi

# The title: "<file name> (<folder>) — k2cse", with "*" in front while there are unsaved changes.
display=:${K2CSE_SMOKE_DISPLAY:-96}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp &
xvfb=$!
trap 'kill "${app:-}" "$xvfb" 2>/dev/null || true; rm -f "${shot:-}"' EXIT
sleep 1
DISPLAY=$display "$bin" --demo &
app=$!
title=""
for _ in $(seq 60); do
  sleep 0.5
  if command -v xdotool >/dev/null; then
    # The program may own several X windows (winit's helpers): the title is the name of the
    # one that has it.
    title=""
    for id in $(DISPLAY=$display xdotool search --pid "$app" 2>/dev/null || true); do
      name=$(DISPLAY=$display xdotool getwindowname "$id" 2>/dev/null || true)
      case "$name" in *K2HostServer.exe.config*) title=$name; break ;; esac
    done
  else
    title=$(DISPLAY=$display xwininfo -root -tree 2>/dev/null \
      | sed -n 's/^ *0x[0-9a-f]* "\(.*K2HostServer\.exe\.config.*\)": .*/\1/p' | head -n1 || true)
  fi
  case "$title" in *K2HostServer.exe.config*) break ;; esac
done
echo "gui-smoke: window title: $title"
case "$title" in
  "K2HostServer.exe.config ("*") — k2cse") ;;
  *)
    echo "gui-smoke: the window title does not name the open file (want 'K2HostServer.exe.config (<folder>) — k2cse')" >&2
    exit 1
    ;;
esac
