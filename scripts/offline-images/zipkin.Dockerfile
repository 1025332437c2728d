# Stand-in for openzipkin/zipkin: Zipkin's executable jar from Maven Central on Debian's JRE,
# in-memory storage, configured like the official image by environment (SPRING_APPLICATION_JSON,
# STORAGE_TYPE, JAVA_OPTS), as an unprivileged user.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && mkdir -p /usr/share/man/man1 \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1001 --home-dir /zipkin --shell /usr/sbin/nologin zipkin
COPY zipkin.jar /zipkin/zipkin.jar
USER zipkin
WORKDIR /zipkin
EXPOSE 9411
ENV JAVA_OPTS="-Xms64m -Xmx192m -XX:+ExitOnOutOfMemoryError"
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -jar /zipkin/zipkin.jar \"$@\"", "zipkin"]
