#!/usr/bin/env bash
# The web app's set-up (services/web), run by the Makefile like infra.sh fetches Kafka:
#   deploy/local/web.sh assets    npm ci of services/web/package-lock.json (the npm registry; node and
#                                 npm from Debian's packages where missing) and
#                                 ECharts copied to services/web/static/vendor (served as a file)
#   deploy/local/web.sh browser   Chromium and a CJK font from Debian's packages when missing
#                                 (the end-to-end tests drive it with Playwright's executable_path;
#                                 Playwright's own browser download is never used)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WEB="$ROOT/services/web"
CHROMIUM="${PBZ_CHROMIUM:-/usr/bin/chromium}"

say() { printf '[web] %s\n' "$*"; }

assets() {
  local out="$WEB/static/vendor/echarts.min.js" stamp="$WEB/node_modules/.pbz-$(md5sum "$WEB/package-lock.json" | cut -c1-8)"
  if [ -f "$out" ] && [ -f "$stamp" ]; then return 0; fi
  command -v npm >/dev/null || apt_install nodejs npm  # a fresh machine: node and npm from Debian
  say "installing the web app's browser libraries (npm ci, once per package-lock.json)"
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
  mkdir -p "$WEB/static/vendor"
  cp "$WEB/node_modules/echarts/dist/echarts.min.js" "$out"
  cp "$WEB/node_modules/echarts/LICENSE" "$WEB/static/vendor/ECHARTS-LICENSE.txt"
  touch "$stamp"
}

# Chinese pages need a CJK font, or a screenshot shows boxes.
has_cjk_font() {
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] ||
    { command -v fc-list >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .; }
}

# Debian's packages, once, without a question (CI has no stdin): as root, or through sudo
# where it asks for no password.
apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      say "missing $*: install them (apt-get install -y $*) as root"
      exit 1
    fi
  fi
  say "installing $* from Debian's packages (once)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

browser() {
  local missing=()
  [ -x "$CHROMIUM" ] || missing+=(chromium)
  has_cjk_font || missing+=(fonts-wqy-microhei)
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}"
  [ -x "$CHROMIUM" ] || { say "chromium is still not at $CHROMIUM"; exit 1; }
}

case "${1:-}" in
  assets) assets ;;
  browser) browser ;;
  *) echo "usage: $0 assets|browser" >&2; exit 2 ;;
esac
