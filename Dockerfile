# pg_pprof images, one Dockerfile, several targets (build from the
# repository root):
#
#   docker build --target gateway  -t pg-pprof/gateway  .
#   docker build --target worker   -t pg-pprof/worker   .
#   docker build --target postgres -t pg-pprof/postgres .
#
# or all of them with `docker compose up` (compose.yaml). Without docker,
# scripts/dockerfile-build -f Dockerfile OUTDIR carries out the build stage
# on this machine and copies what the images take from it into OUTDIR
# (scripts/test-docker checks that).

FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential pkg-config ca-certificates postgresql-server-dev-15 libpq-dev zlib1g-dev libdeflate-dev libprotobuf-c-dev protobuf-c-compiler libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile Makefile
COPY pprof.control pprof.control
COPY extension extension
COPY sql sql
COPY gateway gateway
COPY common common
COPY worker worker
# the extension for PostgreSQL 15, staged under /src/stage
RUN make -j"$(nproc)" WITH_PROGRAMS=no && make install WITH_PROGRAMS=no DESTDIR="$(pwd)/stage"
RUN make -C gateway -j"$(nproc)" && make -C worker -j"$(nproc)"

# The HTTP gateway: configure it with PGO_* variables (pprof-gateway --help);
# tokens: PGO_UPLOAD_TOKEN / PGO_READ_TOKEN, or --upload-token-file and
# --read-token-file on secrets mounted into the container.
FROM debian:bookworm-slim AS gateway
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libmicrohttpd12 curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/gateway/pprof-gateway /usr/bin/pprof-gateway
ENV PGO_LISTEN=:8080
EXPOSE 8080
USER nobody
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/bin/pprof-gateway"]

# The worker (scrapes of /debug/pprof): PGO_* variables (pprof-worker
# --help); it serves only GET /metrics, on PGO_METRICS_LISTEN.
FROM debian:bookworm-slim AS worker
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libmicrohttpd12 libcurl4 libjansson4 libssl3 ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/worker/pprof-worker /usr/bin/pprof-worker
ENV PGO_METRICS_LISTEN=:9091
EXPOSE 9091
USER nobody
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD curl -fsS -o /dev/null http://127.0.0.1:9091/metrics || exit 1
ENTRYPOINT ["/usr/bin/pprof-worker"]

# PostgreSQL 15 with the extension; docker/initdb.sql creates it in the
# database of POSTGRES_DB on the first start.
FROM postgres:15-bookworm AS postgres
RUN apt-get update && apt-get install -y --no-install-recommends libdeflate0 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/stage/usr/ /usr/
COPY docker/initdb.sql /docker-entrypoint-initdb.d/10-pprof.sql
