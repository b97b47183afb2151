# The Slipway operator image. Build: docker build -t slipway/operator:0.1.0 .
# test/integration/image.test.ts repeats these steps without a container engine and runs the result.

# 1. Compile TypeScript to dist/ with the full (dev) dependency set; dist/main.js becomes one tree-shaken bundle
#    (scripts/build.ts says why).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN npm run build

# 2. Production dependencies only: no TypeScript, tsx or eslint in the image. No production dependency has an
#    install script, so none is run.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. The runtime: Node 22 slim, the compiled operator, its production dependencies, a numeric non-root user (so
#    Kubernetes' runAsNonRoot can verify it) and nothing writable needed (the chart mounts the root read-only).
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 65532:65532
EXPOSE 8080
CMD ["node", "dist/main.js"]
