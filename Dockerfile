# syntax=docker/dockerfile:1
# The ecsplane operator image: a statically linked release binary on distroless/static,
# running as UID/GID 65532 with no shell. Build from the repository root:
#   docker build -t ecsplane/ecsplane:0.1.0 .
# The build stage runs scripts/build-static, the same script that builds and checks the binary
# outside a container (`cargo test --test container_image -- --ignored`), so the image's binary
# has the target (x86_64-unknown-linux-musl) and flags (RUSTFLAGS="-C target-feature=+crt-static")
# verified there: no program interpreter, no shared libraries, `--version` and `crds` run.

# Same toolchain as rust-toolchain.toml.
FROM docker.io/library/rust:1.95.0-bookworm AS build
# musl-gcc compiles ring's C code for the musl target.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY rust-toolchain.toml ./
RUN rustup target add x86_64-unknown-linux-musl
COPY . .
RUN scripts/build-static \
 && cp target/x86_64-unknown-linux-musl/release/ecsplane /ecsplane

# ca-certificates, tzdata and a passwd entry for 65532 (nonroot); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /ecsplane /ecsplane
USER 65532:65532
ENTRYPOINT ["/ecsplane"]
CMD ["run"]
