#!/usr/bin/env bash
# Every benchmark of docs/performance.md, from one commit, one after the other, with the options
# the page quotes. Output: var/bench/<commit>/<name>.txt (and the load average before and after
# each). `QUICK=1` runs the short variants (minutes instead of about an hour): only to check that
# everything runs, never for the figures of the page.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
commit=$(git rev-parse --short HEAD)
dirty=$(git status --porcelain --untracked-files=no | grep -v '^ M docs/' | head -1)
[ -n "$dirty" ] && echo "ATTENTION : copie de travail modifiée (hors docs/) : les chiffres ne sont pas ceux de $commit." >&2
# The backup bench compares with restic: missing, it would fail half an hour into the run.
command -v restic >/dev/null || { echo "restic manquant (apt-get install restic) : mesure des sauvegardes impossible." >&2; exit 1; }
out=var/bench/$commit
mkdir -p "$out"
echo "Mesures du commit $commit dans $out ($(nproc) cœurs)"

run() {
  local name=$1; shift
  echo "== $name : $*"
  {
    echo "# commit $commit, $(date -u +%FT%TZ), charge au départ : $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# $*"
    local t0=$SECONDS
    "$@" 2>&1
    echo "# rc $?, $((SECONDS - t0)) s, charge à la fin : $(cut -d' ' -f1-3 /proc/loadavg)"
  } > "$out/$name.txt"
  tail -n 3 "$out/$name.txt"
}

if [ "${QUICK:-}" = 1 ]; then
  run access   $PY bench/bench_access.py --patients 500 --rounds 20
  run pages    $PY bench/bench_pages.py --actions 30 --rounds 1
  run crypto   $PY bench/bench_crypto.py --patients 2000 --rounds 20
  run journal  $PY bench/bench_journal.py --writers 4 --events 100 --verify-events 5000 --rounds 1
  run load     $PY bench/bench_load.py --backend both --users 8 --patients 5 --duration 10 --saturation 5 --clients 4
  run cluster  $PY bench/bench_load.py --servers 1,2 --document-store s3 --users 8 --patients 5 --duration 10 --saturation 5 --clients 4
  run backup   $PY bench/bench_backup.py --documents 200 --total-mb 20 --patients 20 --rounds 1
  run import   $PY bench/bench_import.py --rows 5000
  run exchange $PY bench/bench_exchange.py --mb 20 --rounds 1
  run docstore $PY bench/bench_document_store.py --mb 20 --rounds 1
  exit 0
fi
run access   $PY bench/bench_access.py --patients 5000 --rounds 200
run pages    $PY bench/bench_pages.py --actions 300 --rounds 2
run pages-pg $PY bench/bench_pages.py --backend postgresql --actions 300 --rounds 2
run crypto   $PY bench/bench_crypto.py --patients 100000 --rounds 200
run journal  $PY bench/bench_journal.py --writers 8 --events 1000 --verify-events 1000000 --rounds 2
run load     $PY bench/bench_load.py --backend both --users 50 --patients 10 --duration 120 --saturation 30 --clients 8 --compare-processes
run cluster  $PY bench/bench_load.py --servers 1,2 --document-store s3 --users 50 --patients 10 --duration 120 --saturation 30 --clients 8
run backup   $PY bench/bench_backup.py --quick --rounds 2
run backup-2g $PY bench/bench_backup.py --rounds 1
run import   $PY bench/bench_import.py --rows 100000
run exchange $PY bench/bench_exchange.py --mb 200 --rounds 2
run docstore $PY bench/bench_document_store.py --mb 200 --rounds 2
