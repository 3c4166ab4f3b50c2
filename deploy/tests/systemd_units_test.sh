#!/bin/bash
# ctest deploy.systemd_units: the units in deploy/systemd load
# (`systemd-analyze verify`, with ExecStart pointed at this build), every
# flag their ExecStart passes exists in that daemon, and their sandboxing
# keeps `systemd-analyze security` exposure at or below the bound each
# declares here (edges need network capabilities, so theirs is higher).
set -u
here=$(cd "$(dirname "$0")" && pwd)
units=$here/../systemd
bin=$(cd "${VPNFLEET_BIN_DIR:?set VPNFLEET_BIN_DIR to the build bin directory}" && pwd)
declare -A max_exposure=([vpnfleet-controller]=2.0 [vpnfleet-pki]=2.0 [vpnfleet-ike]=2.5 [vpnfleet-dataplane]=3.0)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
for unit in "$units"/*.service; do
  name=$(basename "$unit" .service)
  sed "s#/usr/local/bin/#$bin/#g" "$unit" >"$tmp/$name.service"
  if out=$(cd "$tmp" && systemd-analyze verify "$tmp/$name.service" 2>&1) && [ -z "$out" ]; then
    echo "ok   $name: systemd-analyze verify"
  else
    echo "FAIL $name: systemd-analyze verify:"; echo "$out" | sed 's/^/     /'; fail=1
  fi
  # The flags of ExecStart (joined continuation lines), without values.
  exec_line=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | tr -d '\\\n')
  daemon=$(sed -E 's#^ExecStart=/usr/local/bin/([^ ]+).*#\1#' <<<"$exec_line")
  help=$("$bin/$daemon" --helpfull 2>&1)
  for flag in $(grep -oE -- '--[a-z_0-9]+' <<<"$exec_line" | sort -u); do
    if ! grep -qE -- "^ +$flag \(" <<<"$help"; then
      echo "FAIL $name: $daemon has no flag $flag"; fail=1
    fi
  done
  score=$(cd "$tmp" && systemd-analyze security --offline=true --no-pager "$tmp/$name.service" 2>/dev/null |
            sed -nE 's/^→ Overall exposure level for .*: ([0-9.]+).*/\1/p')
  bound=${max_exposure[$name]:-2.0}
  if [ -z "$score" ]; then
    echo "FAIL $name: systemd-analyze security gave no exposure level"; fail=1
  elif awk -v s="$score" -v b="$bound" 'BEGIN { exit !(s <= b) }'; then
    echo "ok   $name: exposure $score (bound $bound)"
  else
    echo "FAIL $name: exposure $score above $bound"; fail=1
  fi
done
exit $fail
