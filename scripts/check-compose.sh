#!/usr/bin/env bash
# Validates docker-compose.yml offline: no Docker engine needed, only a Compose client.
# Uses the `docker compose` plugin when the machine has it, else Debian's docker-compose
# (installed with apt-get if missing). Exits non-zero when the file is invalid.
#
# Checks:
#   1. with POOLSINK_UPSTREAMS set, `config` accepts the file (schema, interpolation, volumes);
#   2. without it, `config` refuses the file: the required-variable guard still holds, so nobody
#      starts a resolver that forwards to whatever the container's resolv.conf says.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  if ! command -v docker-compose >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends docker-compose
  fi
  compose=(docker-compose)
fi
echo "check-compose: using $("${compose[@]}" version | head -n 1)"

# Only the variables given here: a developer's .env or shell must not make the check pass.
empty_env="$(mktemp)"
trap 'rm -f "$empty_env"' EXIT
run_config() {
  env -u POOLSINK_UPSTREAMS -u POOLSINK_ALLOW_CLIENTS -u POOLSINK_RATE_LIMIT_QPS -u POOLSINK_LOG_LEVEL \
    -u POOLSINK_DNS_BIND -u COMPOSE_PROFILES "$@" \
    "${compose[@]}" --project-directory . --env-file "$empty_env" -f docker-compose.yml config
}

if ! normalized="$(run_config POOLSINK_UPSTREAMS=10.0.0.2)"; then
  echo "check-compose: docker-compose.yml is invalid" >&2
  exit 1
fi
for expected in 'POOLSINK_UPSTREAMS: 10.0.0.2' '127.0.0.1:8053:8053/tcp' '53:53/udp' '53:53/tcp'; do
  if ! grep -qF -- "$expected" <<<"$normalized"; then
    echo "check-compose: normalized config lacks \"$expected\":" >&2
    echo "$normalized" >&2
    exit 1
  fi
done

# The optional fleet profile (issue 15): PostgreSQL and two resolvers that ship to it.
if ! fleet="$(run_config POOLSINK_UPSTREAMS=10.0.0.2 COMPOSE_PROFILES=fleet)"; then
  echo "check-compose: the fleet profile is invalid" >&2
  exit 1
fi
for expected in 'image: postgres:16' 'POOLSINK_INSTANCE_NAME: az-a' 'POOLSINK_INSTANCE_NAME: az-b' \
  'POOLSINK_CENTRAL_POSTGRES_PASSWORD_FILE: /run/secrets/pg-password' '127.0.0.1:5301:53/udp' '127.0.0.1:8055:8053/tcp'; do
  if ! grep -qF -- "$expected" <<<"$fleet"; then
    echo "check-compose: the fleet profile lacks \"$expected\"" >&2
    exit 1
  fi
done

if run_config >/dev/null 2>&1; then
  echo "check-compose: docker-compose.yml validates without POOLSINK_UPSTREAMS; it must require it" >&2
  exit 1
fi

echo "check-compose: docker-compose.yml is valid"
