# The retrain worker (and, once it exists, the gateway): TypeScript run through tsx, no build step.
FROM node:20-bookworm-slim

# better-sqlite3 compiles when no prebuilt binary matches; python3 also runs `command` trainers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 python3-pip tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# npm 10 ignores package.json allowScripts: skip onnxruntime-node's GPU download (no network at build)
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY tsconfig.json retrain.yaml ./
COPY examples ./examples

ENV NODE_ENV=production \
    RETRAIN_DATA_DIR=/data \
    RETRAIN_METRICS_PORT=9464
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/retrain.js"]
CMD ["worker"]
