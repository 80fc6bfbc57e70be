# Stand-in for temporalio/server (scripts/compose-images.sh): the server built from its Go module
# by scripts/temporal-build.sh, and the entrypoint of the module's docker/ folder (run by bash:
# it uses `set -o pipefail`, which Alpine's sh has and Debian's dash does not). netcat for the
# compose healthcheck, as busybox's nc in the official Alpine image.
ARG BASE
FROM ${BASE}
RUN groupadd --gid 1000 temporal && useradd --uid 1000 --gid temporal --create-home temporal
COPY temporal-server /usr/local/bin/temporal-server
COPY entrypoint.sh /etc/temporal/entrypoint.sh
WORKDIR /etc/temporal
USER temporal
CMD ["/etc/temporal/entrypoint.sh"]
