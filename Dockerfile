# nsbackup image: the `nsbackup` front door on Node.js; the CronJob's args choose the command (backup, retain, ...).
# Database dumps run in the database's own container over pods/exec, so no database client is needed here. Two
# outside tools: restic (Debian's package), for the volume-data mover Jobs, the pruner's forget/prune and
# volume-check; and etcd's etcdctl and etcdutl for `etcd-backup`/`etcd-restore`, copied from etcd's own release
# image (static Go binaries). ETCD_VERSION is the release test/realcluster builds and tests with; its clients talk to
# etcd 3.5 and later, but restore with the etcdutl of the cluster's own minor release when it is older (the runbook
# says so).
# Node 26 "Lithium" is the Active LTS line since 2026-10-28 (maintenance from 2027-10-20, end of life 2029-04-30).
# One Node line everywhere: this image, package.json engines and the `node` devDependency that the tests, the demo
# and CI run on. Debian 13 "trixie" is the current Debian stable, so the slim trixie variant.
ARG NODE_VERSION=26
ARG ETCD_VERSION=v3.7.0

FROM gcr.io/etcd-development/etcd:${ETCD_VERSION} AS etcd

FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY lib ./lib
COPY scripts ./scripts
COPY tools ./tools
RUN npm run build

FROM node:${NODE_VERSION}-trixie-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends restic ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# V8's code cache, written here once for every command, read by every run: halves each Job's start-up.
ENV NODE_COMPILE_CACHE=/app/compile-cache
WORKDIR /app
# The build bundles every dependency into dist/: no node_modules in the image.
COPY package.json ./
COPY --from=build /src/dist ./dist
COPY --from=etcd /usr/local/bin/etcdctl /usr/local/bin/etcdutl /usr/local/bin/
# Every script's --help compiles what it imports; the chunks commands import only when they need them (the AWS
# SDK, the etcd listing) are compiled by importing each once.
RUN for script in dist/scripts/*.js; do node "$script" --help >/dev/null; done \
  && for chunk in dist/*.js; do node --input-type=module -e "await import('/app/$chunk')"; done
# The node image's unprivileged user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
ENTRYPOINT ["node", "/app/dist/scripts/nsbackup.js"]
CMD ["--help"]
