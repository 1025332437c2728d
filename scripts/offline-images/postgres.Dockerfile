# Stand-in for postgres:15-bookworm, from Debian's own packages. It keeps the parts of the
# official image's contract that compose/ uses: POSTGRES_USER / POSTGRES_PASSWORD(_FILE) / POSTGRES_DB,
# scripts in /docker-entrypoint-initdb.d run on first start, data in /var/lib/postgresql/data,
# pg_isready on the PATH, PGPORT, SIGINT as the stop signal (a fast, clean shutdown), uid 999.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# Like the official image: no cluster from the package; ours is made by the entrypoint.
# The postgres user is uid 999, as in the official image (the mesh's secret files are its).
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
