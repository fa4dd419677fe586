# The atlas-ops worker image: the repository as it is (TypeScript runs through tsx; no build step),
# production dependencies only. The Temporal CLI (the dev server) is not needed here: the compose
# stack or Temporal Cloud provides the server.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production ATLAS_HOME=/opt/atlas

# better-sqlite3 builds or fetches its native module in its install script; nothing else needs one.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ sqlite3 \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY activities ./activities
COPY workflows ./workflows
COPY scripts ./scripts
COPY tsconfig.json ./

USER node
ENTRYPOINT ["node", "bin/atlas-ops.js"]
CMD ["worker"]
