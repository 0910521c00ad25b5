FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV TOLLKEEPER_DATA=/data
EXPOSE 4318 8080
ENTRYPOINT ["npx", "tsx", "bin/tollkeeper.ts"]
CMD ["start", "--host", "0.0.0.0"]
