# sellerhub on Debian bookworm: the same packages as scripts/bootstrap (scripts/packages).
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/packages scripts/packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(grep -v '^#' scripts/packages | tr '\n' ' ') \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" bin/sellerhubd

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-pthreads-2.1-7 libpq5 libhiredis0.14 libcurl4 libssl3 \
      libjansson4 libjwt0 libargon2-1 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /opt/sellerhub sellerhub
WORKDIR /opt/sellerhub
COPY --from=build /src/bin/sellerhubd bin/sellerhubd
COPY --from=build /src/sql sql
USER sellerhub
ENV BIND=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD ["curl", "-fsS", "http://127.0.0.1:8080/health"]
CMD ["bin/sellerhubd", "serve"]
