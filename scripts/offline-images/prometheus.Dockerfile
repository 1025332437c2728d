# Stand-in for prom/prometheus: Debian's prometheus package (2.42), with the official image's
# contract that compose/ uses: the binary as the entrypoint, /etc/prometheus, data in
# /prometheus, user nobody (uid 65534). Debian's service (and its exporters) is never started.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus /etc/prometheus \
 && chown 65534:65534 /prometheus \
 && prometheus --version
USER 65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
