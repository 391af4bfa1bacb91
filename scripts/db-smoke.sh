#!/usr/bin/env bash
# Starts the k2cse-mssql-sim binary as a service would run, then drives it with the k2cse CLI
# and FreeTDS `tsql`: status, drift, push, pull, then back up, break and restore, on the bundled
# sample config. Prints what it does; fails on the first unexpected result.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --workspace --bin k2cse --bin k2cse-mssql-sim
bin=target/debug
work=$(mktemp -d)
trap 'kill "${sim_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

export K2CSE_SQL_PASSWORD="Smoke!Pass1"
"$bin/k2cse-mssql-sim" --listen 127.0.0.1:0 --seed k2-sample --sa-password "$K2CSE_SQL_PASSWORD" \
  --data "$work/data" --cert-out "$work/sim.pem" >"$work/sim.out" &
sim_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$work/sim.out")
port=${addr##*:}
echo "simulator: $addr (pid $sim_pid)"

cp crates/core/assets/k2-sample.config "$work/K2HostServer.exe.config"
export K2CSE_CONFIG="$work/K2HostServer.exe.config"
export K2CSE_CONNECTION="Data Source=127.0.0.1,$port;Initial Catalog=K2;User ID=sa;TrustServerCertificate=True"
export K2CSE_MASTER_KEY_PASSWORD="K2sample!MasterKey"
export K2CSE_KEYRING=mock

set -x
"$bin/k2cse" db status
if "$bin/k2cse" db drift --exit-code; then echo "expected drift in the sample database" >&2; exit 1; fi
"$bin/k2cse" db push --create --yes
"$bin/k2cse" db drift --exit-code
"$bin/k2cse" db set '[ConnectionString:SourceCode.Net.Mail.SmtpConnection]' \
  'Host Name=smtp.denallix.com;Port=587;TLS=StartTls;Authentication=Anonymous'
"$bin/k2cse" db pull --no-backup
grep -q 'Port=587;TLS=StartTls' "$K2CSE_CONFIG"
printf 'SELECT COUNT(*) FROM [HostServer].[Configuration]\ngo\nexit\n' \
  | tsql -H 127.0.0.1 -p "$port" -U sa -P "$K2CSE_SQL_PASSWORD" -D K2 | grep -qx '11'

# Back up, break both sides, restore: identical bytes and rows again.
backup=$("$bin/k2cse" backup create --json | sed -n 's/^  "path": "\(.*\)",$/\1/p')
test -f "$backup"
"$bin/k2cse" backup verify "$backup"
cp "$K2CSE_CONFIG" "$work/before.config"
# Values compared by digest: the log shows no token value.
rows_before=$("$bin/k2cse" db tokens --reveal --json | sha256sum)
"$bin/k2cse" db set '[K2SERVER]' 'BROKEN'
"$bin/k2cse" set SourceCode.Net.Mail.SmtpConnection 'Host Name=broken.example.com' --force
if "$bin/k2cse" backup restore "$backup" </dev/null; then echo "restore without --yes must be refused" >&2; exit 1; fi
"$bin/k2cse" backup restore "$backup" --yes
cmp "$K2CSE_CONFIG" "$work/before.config"
test "$("$bin/k2cse" db tokens --reveal --json | sha256sum)" = "$rows_before"
"$bin/k2cse" backup list
set +x
echo "db-smoke: ok"
