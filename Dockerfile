# Pinned to the Node release the project is developed and tested on (engines: >= 20.19); bump it deliberately.
FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV TOLLKEEPER_DATA=/data
EXPOSE 4318 8080 4320
# A larger young generation: ingest allocates short-lived objects fast (BENCHMARKS.md "Where the time goes").
# The same memory settings as `npm start` (docs/scaling.md "Memory of one all-in-one process under overload").
ENV MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072
ENTRYPOINT ["node", "--max-semi-space-size=32", "--expose-gc", "--import", "tsx", "bin/tollkeeper.ts"]
CMD ["start", "--host", "0.0.0.0"]
