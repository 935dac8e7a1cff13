# perfblog's image: build with the Rust toolchain, run on a slim Debian with the binary
# alone (templates, the stylesheet, the patterns' docs, the bench report and the source
# the lab shows are compiled into it).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not rebuild them.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY catalog/Cargo.toml catalog/Cargo.toml
COPY migrations/Cargo.toml migrations/Cargo.toml
COPY bench-report/Cargo.toml bench-report/Cargo.toml
COPY loadtest/Cargo.toml loadtest/Cargo.toml
# Stand-ins for every target the manifests name (the benches are read off Cargo.toml).
RUN mkdir -p src catalog/src migrations/src bench-report/src loadtest/src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs catalog/src/lib.rs migrations/src/lib.rs \
 && echo 'fn main() {}' > bench-report/src/main.rs \
 && echo 'fn main() {}' > loadtest/src/main.rs \
 && for bench in $(sed -n '/^\[\[bench\]\]/{n;s/^name = "\(.*\)"/\1/p}' Cargo.toml); do echo 'fn main() {}' > benches/$bench.rs; done \
 && cargo build --release --locked --bin perfblog \
 && rm -rf src catalog/src migrations/src bench-report/src loadtest/src
COPY . .
RUN touch src/main.rs src/lib.rs catalog/src/lib.rs migrations/src/lib.rs \
 && cargo build --release --locked --bin perfblog \
 && strip target/release/perfblog

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app perfblog
WORKDIR /app
COPY --from=build /src/target/release/perfblog /usr/local/bin/perfblog
USER perfblog
ENV BIND=0.0.0.0:3000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
ENTRYPOINT ["perfblog"]
CMD ["serve"]
