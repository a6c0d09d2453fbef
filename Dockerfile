# poolsink container image. Build: docker build -t poolsink .   Run: docker compose up -d
# The build stage compiles TypeScript and better-sqlite3; the runtime stage holds only what
# `poolsink serve` reads: dist/, production node_modules, package.json, blocklists/, the config.
# docs/deploying.md explains the choices (non-root port 53, volume, healthcheck).

# Pin the base image by digest for a reproducible build: look it up once with
#   docker buildx imagetools inspect node:20-bookworm-slim      (the "Digest:" line)
# then build with --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest> (also accepted by
# `docker compose build`). Both stages use it. docs/deploying.md ("Pinning the base image").
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Toolchain for better-sqlite3's native module (node-gyp). It stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Compile better-sqlite3 from source against this image's Node headers instead of downloading a
# prebuilt binary: the build needs only the npm registry, and the module matches the runtime
# stage's Node ABI and glibc (both stages use the same base image).
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard's source and its bundler script (npm run build writes dist/web).
COPY web ./web
COPY scripts/build-web.mjs ./scripts/
# Then drop the dev dependencies, and better-sqlite3's compiler leftovers (SQLite sources, object
# files, static library, test extension): at run time it loads build/Release/better_sqlite3.node.
RUN npm run build \
 && npm prune --omit=dev \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps \
      build/Release/sqlite3.a build/Release/test_extension.node

FROM ${NODE_IMAGE} AS runtime
# A bounded heap: V8 otherwise grows it lazily towards its default limit, so RSS keeps climbing
# under load though nothing leaks (README, soak). 512 MB holds a 1M-name list and a full cache.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=512
WORKDIR /app
# A fixed uid/gid, so a bind-mounted data directory can be prepared on the host
# (chown 10001:10001). Its home is the data volume; it owns nothing else in the image.
RUN groupadd --system --gid 10001 poolsink \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/poolsink --no-create-home \
      --shell /usr/sbin/nologin poolsink \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/poolsink
# Code and lists stay owned by root: the process can read but not change them.
# package.json is needed at run time: its "type": "module" makes dist/*.js ES modules.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY blocklists ./blocklists
COPY deploy/poolsink.docker.yaml /etc/poolsink/poolsink.yaml
# `poolsink` on PATH, so `docker compose exec poolsink poolsink hosts` works as written; it finds
# /etc/poolsink/poolsink.yaml by itself (config/config-path.ts: --config, $POOLSINK_CONFIG,
# ./poolsink.yaml, then that file).
RUN chmod 0755 /app/dist/cli.js \
 && ln -s /app/dist/cli.js /usr/local/bin/poolsink
USER 10001:10001
# Block log, admin token and last known good lists. A new named volume takes this directory's
# owner (10001), so the non-root process can write it.
VOLUME ["/var/lib/poolsink"]
# DNS on 53 (the config listens on 0.0.0.0:53; the network namespace's
# net.ipv4.ip_unprivileged_port_start=0, Docker's default, lets uid 10001 bind it: no capability,
# no setcap). Admin API on 8053: publish it on the host's loopback only.
EXPOSE 53/udp 53/tcp 8053/tcp
# The slim image has no curl: Node's fetch asks the admin API, which answers /healthz without a token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8053/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself: it stops accepting, answers the queries in flight
# and writes the buffered block events before exiting (docker-compose.yml allows 30 s for that).
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve", "--config", "/etc/poolsink/poolsink.yaml"]
