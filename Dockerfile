# nsbackup image: the `nsbackup` front door on Node.js; the CronJob's args choose the command (backup, retain, ...).
# Nothing else is needed inside: database dumps run in the database's own container over pods/exec.
# Node 24 is an LTS line (maintenance until April 2028); bump NODE_VERSION to follow the current LTS.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY scripts ./scripts
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# The node image's unprivileged user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
ENTRYPOINT ["node", "/app/dist/scripts/nsbackup.js"]
CMD ["--help"]
