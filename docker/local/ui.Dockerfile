# Stand-in for temporalio/ui (scripts/compose-images.sh): the UI server built from its Go module
# (scripts/temporal-build.sh) with the module's own templated config/docker.yaml and
# docker/start-ui-server.sh, laid out as in the official image: the same environment variables
# (TEMPORAL_ADDRESS, TEMPORAL_DEFAULT_NAMESPACE, ...), port 8080.
ARG BASE
FROM ${BASE}
RUN groupadd --gid 1000 ui-server && useradd --uid 1000 --gid ui-server --create-home --home-dir /home/ui-server ui-server
WORKDIR /home/ui-server
COPY --chown=ui-server:ui-server temporal-ui-server ./ui-server
COPY --chown=ui-server:ui-server docker.yaml ./config/docker.yaml
COPY --chown=ui-server:ui-server start-ui-server.sh ./start-ui-server.sh
USER ui-server
EXPOSE 8080
ENTRYPOINT ["./start-ui-server.sh"]
