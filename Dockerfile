# Pinned to the Node release the project is developed and tested on (engines: >= 20.19); bump it deliberately.
FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: the lock file holds chdb's engine for linux-x64 only (the registry it was made from
# carries no other platform), and `npm ci` refuses a lock missing an optional dependency ("Missing:
# @chdb/lib-darwin-arm64 from lock file"). `npm install` installs the locked versions and fetches the engine of
# another platform (arm64) if the registry has it; the server roles never load the engine.
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
ENV TOLLKEEPER_DATA=/data
EXPOSE 4318 8080 4320
# A larger young generation: ingest allocates short-lived objects fast (BENCHMARKS.md "Where the time goes").
# The same memory settings as `npm start` (docs/scaling.md "Memory of one all-in-one process under overload").
ENV MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072
ENTRYPOINT ["node", "--max-semi-space-size=32", "--expose-gc", "--import", "tsx", "bin/tollkeeper.ts"]
CMD ["start", "--host", "0.0.0.0"]
