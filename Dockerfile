# syntax=docker/dockerfile:1
#
# gtf-bff: one image for every command (serve, migrate, sim, token,
# healthcheck). Build: docker build -t gtf-bff .
#
# Stages: chef (toolchain + cargo-chef) -> planner (dependency recipe) ->
# builder (dependencies cached in their own layer, then the crate) ->
# runtime (the binary alone, as a non-root user).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version ${CARGO_CHEF_VERSION}
WORKDIR /app

# The recipe changes only when Cargo.toml or Cargo.lock do.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# sqlx checks queries against the committed .sqlx/ data: no database needed.
ENV SQLX_OFFLINE=true
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin gtf-bff

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# TLS uses rustls with compiled-in webpki roots; ca-certificates is only
# for anyone who execs into the container. Unpinned: bookworm's security
# updates are wanted, and old versions leave the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gtf-bff \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin gtf-bff
COPY --from=builder /app/target/release/gtf-bff /usr/local/bin/gtf-bff
# Listen on every interface inside the container (the simulator's and the
# metrics' own defaults are loopback only).
ENV BFF_LISTEN_ADDR=0.0.0.0:8080 \
    METRICS_LISTEN_ADDR=0.0.0.0:9464 \
    SIM_LISTEN_ADDR=0.0.0.0:9090
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# 8080: the partner API (serve); 9464: its metrics, for the scraper only;
# 9090: the GTF simulator (sim).
EXPOSE 8080 9464 9090
# Asks GET http://127.0.0.1:8080/readyz; no curl in the image. For `sim`,
# override it (see docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["gtf-bff", "healthcheck"]
ENTRYPOINT ["gtf-bff"]
CMD ["serve"]
