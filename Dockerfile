# syntax=docker/dockerfile:1

# Build: a static binary (the SQLite driver is pure Go, so no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/roombridge ./cmd/roombridge

# Run: slim Debian with CA certificates (HTTPS to the OA and DingTalk), time zone data,
# and wget for the health check.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata wget \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/roombridge --create-home \
      --shell /usr/sbin/nologin roombridge
COPY --from=build /out/roombridge /roombridge
USER roombridge
# The embedded default database (sqlite:data/roombridge.db) lands in /var/lib/roombridge/data.
WORKDIR /var/lib/roombridge
ENV ROOMBRIDGE_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/roombridge"]
CMD ["serve"]
