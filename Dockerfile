FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV TOLLKEEPER_DATA=/data
EXPOSE 4318 8080 4320
# A larger young generation: ingest allocates short-lived objects fast (BENCHMARKS.md "Where the time goes").
ENTRYPOINT ["node", "--max-semi-space-size=64", "--import", "tsx", "bin/tollkeeper.ts"]
CMD ["start", "--host", "0.0.0.0"]
