#!/usr/bin/env bash
# Debian packages the test suite drives for real: Chromium (browser tests), the command
# line clients our formats promise to work with, and the TLS proxies of docs/operations.md. Installs only what is missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v age >/dev/null || need+=(age)
command -v 7z >/dev/null || need+=(p7zip-full)
command -v oathtool >/dev/null || need+=(oathtool)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v pdftotext >/dev/null || need+=(poppler-utils)
# TLS reverse proxies run in front of `hygie serve` (tests/core/test_serve_proxy.py).
command -v caddy >/dev/null || need+=(caddy)
[ -x /usr/sbin/nginx ] || need+=(nginx)
# A real Redis for the cache shared by several app servers (tests/redis_server.py, tests/cluster.py).
command -v redis-server >/dev/null || need+=(redis-server)
# Node runs the local OpenID Connect provider shaped like Pro Santé Connect (tests/psc).
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# The npm packages of the tests, exactly as their package-lock.json pin them: tests/oidc (the
# provider), tests/axe (axe-core, the WCAG 2.1 AA checks of tests/browser/axe.py).
install_npm() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in "$root/tests/oidc" "$root/tests/axe"; do
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --silent)
    fi
  done
}
# A real IMAP server with STARTTLS for the MSSanté reception tests (tests/exchange/test_imap.py).
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
if [ ${#need[@]} -eq 0 ]; then install_npm; exit 0; fi
echo "Installation des paquets Debian : ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
install_npm
