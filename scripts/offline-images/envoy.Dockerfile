# Stand-in for envoyproxy/envoy:v1.40-latest: the binary at /usr/local/bin/envoy, user `envoy` (uid 101).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY envoy /usr/local/bin/envoy
RUN groupadd --system --gid 101 envoy \
 && useradd --system --uid 101 --gid envoy --home-dir /etc/envoy --shell /usr/sbin/nologin envoy \
 && mkdir -p /etc/envoy \
 && envoy --version
ENTRYPOINT ["/usr/local/bin/envoy"]
CMD ["-c", "/etc/envoy/envoy.yaml"]
