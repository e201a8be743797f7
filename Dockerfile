# nsbackup image: the `nsbackup` front door on Node.js; the CronJob's args choose the command (backup, retain, ...).
# Database dumps run in the database's own container over pods/exec, so no database client is needed here; restic is
# (Debian's package): the same image runs the volume-data mover Jobs, the pruner's forget/prune and volume-check.
# Node 26 "Lithium" is the Active LTS line since 2026-10-28 (maintenance from 2027-10-20, end of life 2029-04-30;
# Node 24 went to maintenance on 2026-10-20). Bump NODE_VERSION to follow the Active LTS. The program itself stays
# Node >= 20 compatible (package.json engines, CI); only the image runs the newest LTS. Debian 13 "trixie" is the
# current Debian stable and outlives bookworm's support, so the slim trixie variant.
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY scripts ./scripts
RUN npm run build

FROM node:${NODE_VERSION}-trixie-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends restic ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# The node image's unprivileged user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
ENTRYPOINT ["node", "/app/dist/scripts/nsbackup.js"]
CMD ["--help"]
