# Eddy's image: dependencies installed in a build stage, the sources run through tsx as `npm start`
# does (one code path), as a non-root user, with a health check on /healthz.
FROM node:20.19-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund

FROM node:20.19-bookworm-slim
ENV NODE_ENV=production EDDY_DATA_DIR=/data PORT=8080
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY ingest ./ingest
COPY processors ./processors
COPY api ./api
COPY schemas ./schemas
COPY traffic ./traffic
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "--max-semi-space-size=32", "bin/eddy.js"]
CMD ["start"]
