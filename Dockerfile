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
#    NODE_OPTIONS: V8 sizes its heap for the machine, not the pod. With its default 4 GiB old-space limit it lets the
#    heap grow to four times what is live before a full collection, and the young generation to 3 x 16 MiB; under
#    load that held 180-220 MiB of RSS for 30 MiB of live heap. A 384 MiB old space (inside the chart's 512Mi limit)
#    grows it by less than 2x, and 2 MiB semi-spaces keep the young generation small, for no measurable CPU
#    (BENCHMARKS.md, "Memory of `node dist/main.js`"). Raise the old space with the chart's memory limit (extraEnv).
#    MALLOC_ARENA_MAX: glibc gives each thread that allocates an arena of its own, and the freed memory of each stays
#    with the process; two arenas held 11-13 MiB less at rest and at the peak of a cold burst of 2,000 workloads
#    (BENCHMARKS.md, eighth session).
#    MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_: glibc raises both after the process frees a large block, up to
#    32 and 64 MiB, and then keeps that much freed memory; fixed at their initial 128 KiB, what a resync wave frees
#    goes back to the system: 8-10 MiB less outside the heap at rest and in waves (BENCHMARKS.md, ninth session).
FROM node:22-bookworm-slim
ENV NODE_ENV=production NODE_OPTIONS="--max-old-space-size=384 --max-semi-space-size=2" MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 65532:65532
EXPOSE 8080
CMD ["node", "dist/main.js"]
