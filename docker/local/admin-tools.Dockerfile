# Stand-in for temporalio/admin-tools (scripts/compose-images.sh): the SQL tool built from the
# server's Go module with its PostgreSQL schemas (scripts/temporal-build.sh), where the official
# image keeps them. Only what docker-compose.yml's temporal-schema runs.
ARG BASE
FROM ${BASE}
RUN groupadd --gid 1000 temporal && useradd --uid 1000 --gid temporal --create-home temporal
COPY temporal-sql-tool /usr/local/bin/temporal-sql-tool
COPY schema /etc/temporal/schema/postgresql/v12
USER temporal
CMD ["sh", "-c", "trap exit INT HUP TERM; sleep infinity & wait"]
