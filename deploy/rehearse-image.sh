#!/usr/bin/env bash
# Rehearses the Dockerfile on a machine without a Docker engine (such as CI here): builds the
# image's /app the way the build stage does, then runs it the way docker-compose.yml does, and
# checks the result. Needs root (namespaces, chroot), util-linux (unshare, setpriv), dig, and
# the npm registry. Sends traffic only inside a private network namespace. Takes a few minutes
# (better-sqlite3 is compiled from source, as in the image). Not part of .ci/run.
#
#   sudo deploy/rehearse-image.sh            keeps nothing; KEEP=1 keeps the work directory
#
# What the image would do and this checks:
#   build    only the .dockerignore allow-list is copied; npm ci (native module from source),
#            npm run build, npm prune --omit=dev
#   runtime  /app = package.json, production node_modules, dist, blocklists (root-owned, read-only
#            root filesystem); /etc/poolsink/poolsink.yaml = deploy/poolsink.docker.yaml;
#            uid 10001 with no capabilities and no_new_privs; its own network namespace with
#            net.ipv4.ip_unprivileged_port_start=0; /var/lib/poolsink the only writable path
#   checks   better-sqlite3 loads; it binds 0.0.0.0:53, blocks a listed pool over UDP and TCP,
#            forwards to a local upstream, records the blocks (admin API /api/v1/hosts), the
#            Dockerfile's HEALTHCHECK command exits 0, state lands in the volume owned by 10001,
#            and SIGTERM ends it with exit code 0
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
[[ $(id -u) -eq 0 ]] || { echo "rehearse-image: run as root" >&2; exit 2; }
for tool in unshare setpriv dig node npm; do
  command -v "$tool" >/dev/null || { echo "rehearse-image: needs $tool" >&2; exit 2; }
done

work="$(mktemp -d /tmp/poolsink-rehearse.XXXXXX)"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi
step() { printf '\n== %s\n' "$*"; }

step "build context: the .dockerignore allow-list"
mkdir -p "$work/context"
while IFS= read -r line; do
  [[ $line == '!'* ]] || continue
  path="${line#!}"
  mkdir -p "$work/context/$(dirname "$path")"
  cp -a "$repo/$path" "$work/context/$path"
done < "$repo/.dockerignore"
(cd "$work/context" && find . -maxdepth 2 | sort | head -n 40)

step "build stage: npm ci, npm run build, npm prune --omit=dev"
(
  cd "$work/context"
  export npm_config_build_from_source=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
  npm ci
  npm run build
  npm prune --omit=dev
  # As the Dockerfile: better-sqlite3's compiler leftovers go.
  cd node_modules/better-sqlite3
  rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps \
    build/Release/sqlite3.a build/Release/test_extension.node
)
du -sh "$work/context/node_modules"

step "runtime stage: /app and /etc/poolsink"
root="$work/root"
mkdir -p "$root/app" "$root/etc/poolsink" "$root/var/lib/poolsink" "$root/tmp" "$root/proc" "$root/dev" "$root/usr"
for dir in bin sbin lib lib64; do
  if [[ -L /$dir ]]; then ln -s "$(readlink "/$dir")" "$root/$dir"; else mkdir -p "$root/$dir"; fi
done
cp -a "$work/context/package.json" "$work/context/node_modules" "$work/context/dist" "$work/context/blocklists" "$root/app/"
cp "$repo/deploy/poolsink.docker.yaml" "$root/etc/poolsink/poolsink.yaml"
cp /etc/passwd /etc/group /etc/nsswitch.conf /etc/hosts "$root/etc/" 2>/dev/null || true
chown -R root:root "$root/app" "$root/etc/poolsink"
chmod -R go-w "$root/app"
state="$work/state"   # the named volume
mkdir -p "$state" && chown 10001:10001 "$state" && chmod 0750 "$state"
healthcheck="$(sed -n 's/^ *CMD \["node", "-e", "\(.*\)"\]$/\1/p' "$repo/Dockerfile")"
[[ -n $healthcheck ]] || { echo "rehearse-image: no HEALTHCHECK CMD found in the Dockerfile" >&2; exit 1; }
node_bin="$(command -v node)"

step "run: private network and mount namespaces, uid 10001, no capabilities"
cat > "$work/inside.sh" <<'EOF'
set -euo pipefail
fail() { echo "rehearse-image: FAILED: $*" >&2; exit 1; }
ip link set lo up
sysctl -q -w net.ipv4.ip_unprivileged_port_start=0
# The image's root filesystem, read-only (compose: read_only: true), then what is mounted on it.
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind /usr "$root/usr"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o size=16m,mode=1777 tmpfs "$root/tmp"
mount --bind "$state" "$root/var/lib/poolsink"
# A container's clean environment: the image's ENV and compose's environment, nothing of this shell.
as_image_user=(env -i PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production NODE_OPTIONS=--max-old-space-size=512 POOLSINK_UPSTREAMS=127.0.0.1:5300
  "$(command -v chroot)" "$root" setpriv --reuid=10001 --regid=10001 --clear-groups --inh-caps=-all
  --ambient-caps=-all --bounding-set=-all --no-new-privs)

# The native module loads from the pruned tree, as the image user.
"${as_image_user[@]}" "$node_bin" -e "const Database = require('/app/node_modules/better-sqlite3');
  const db = new Database('/var/lib/poolsink/probe.db'); db.pragma('journal_mode = WAL');
  console.log('better-sqlite3: SQLite ' + db.prepare('select sqlite_version() as v').get().v + ', WAL in the volume');
  db.close(); require('node:fs').rmSync('/var/lib/poolsink/probe.db');" || fail "better-sqlite3 does not load or cannot write the volume"

# The upstream: scripts/trivial-responder.mjs answers NXDOMAIN to everything, on 127.0.0.1:5300.
sleep 600 | node "$repo/scripts/trivial-responder.mjs" --port 5300 > "$work/upstream.out" &
"${as_image_user[@]}" "$node_bin" /app/dist/cli.js serve --config /etc/poolsink/poolsink.yaml \
  > "$work/poolsink.out" 2>&1 &
pid=$!
for _ in $(seq 50); do
  grep -q '"poolsink started' "$work/poolsink.out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
cat "$work/poolsink.out"
grep -q '"poolsink started' "$work/poolsink.out" || fail "poolsink did not start"
# This PID namespace's /proc is the one mounted in the image root.
status="$root/proc/$pid/status"
grep -q 'CapEff:[[:space:]]*0*$' "$status" || fail "the server has capabilities: $(grep CapEff "$status")"
grep -q 'NoNewPrivs:[[:space:]]*1' "$status" || fail "no_new_privs is not set"
echo "server runs as uid $(awk '/^Uid:/ {print $2}' "$status") with no capabilities and no_new_privs"
dig +time=2 +tries=1 @127.0.0.1 pool.supportxmr.com > "$work/dig.out" || true
grep -q 'status: NXDOMAIN' "$work/dig.out" && grep -q 'EDE: 15' "$work/dig.out" || fail "UDP: pool not blocked"
echo "UDP 0.0.0.0:53: pool.supportxmr.com blocked (EDE 15)"
dig +tcp +time=2 +tries=1 @127.0.0.1 pool.supportxmr.com > "$work/dig.out" || true
grep -q 'EDE: 15' "$work/dig.out" || fail "TCP: pool not blocked"
echo "TCP 0.0.0.0:53: pool.supportxmr.com blocked (EDE 15)"
dig +time=2 +tries=1 @127.0.0.1 example.com > "$work/dig.out" || true
grep -q 'status: NXDOMAIN' "$work/dig.out" && ! grep -q 'EDE: 15' "$work/dig.out" || fail "example.com not forwarded"
echo "UDP: example.com forwarded to the local upstream"
# The block log: the two blocked queries reach SQLite in the volume and the admin API shows them.
sleep 1
node -e "
  const token = require('node:fs').readFileSync('$state/admin-token', 'utf8').trim();
  fetch('http://127.0.0.1:8053/api/v1/hosts', { headers: { authorization: 'Bearer ' + token } })
    .then((r) => r.json())
    .then((body) => {
      const host = body.hosts.find((h) => h.clientIp === '127.0.0.1');
      if (!host || host.blockedCount < 2) throw new Error(JSON.stringify(body));
      console.log('admin API /api/v1/hosts: 127.0.0.1 with ' + host.blockedCount + ' blocked queries');
    })
    .catch((err) => { console.error(err); process.exit(1); });" || fail "the block log does not show the blocked queries"
health=healthy
"${as_image_user[@]}" "$node_bin" -e "$healthcheck" || health="unhealthy (exit $?)"
echo "Dockerfile HEALTHCHECK: $health"
kill -TERM "$pid"
set +e; wait "$pid"; code=$?; set -e
echo "exit code after SIGTERM: $code"
echo "the data volume:"; ls -ln "$state"
[[ $code -eq 0 ]] || fail "exit code $code after SIGTERM"
[[ $health == healthy ]] || fail "HEALTHCHECK: $health"
EOF
export root state repo work node_bin healthcheck
unshare --net --mount --pid --fork bash "$work/inside.sh"
echo
echo "rehearse-image: the image layout builds, runs as 10001 without capabilities, and serves"
