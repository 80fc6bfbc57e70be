# The Temporal server's config file, printed by scripts/temporal-cluster.sh (sourced there, with
# DIR, the ports and the password set). The same settings as the temporalio/server image's
# template with the values docker-compose.yml gives it (DB=postgres12, NUM_HISTORY_SHARDS=4, the
# default connection pools, an empty dynamic config), on loopback ports of its own, with mutual TLS
# on the frontend (certificates in TLS_DIR).
cat <<EOF
log:
  stdout: true
  level: warn

persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: $NUM_HISTORY_SHARDS
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$DB_PASSWORD"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$DB_PASSWORD"
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  # Mutual TLS on the frontend (gRPC and HTTP): only holders of a certificate of the cluster's CA
  # (made by \`nblc temporal certs\`) get in; the server's own system worker presents its own.
  tls:
    frontend:
      server:
        certFile: "$TLS_DIR/server.pem"
        keyFile: "$TLS_DIR/server.key"
        requireClientAuth: true
        clientCaFiles: ["$TLS_DIR/ca.pem"]
      client:
        serverName: localhost
        rootCaFiles: ["$TLS_DIR/ca.pem"]
    systemWorker:
      certFile: "$TLS_DIR/internal.pem"
      keyFile: "$TLS_DIR/internal.key"
      client:
        serverName: localhost
        rootCaFiles: ["$TLS_DIR/ca.pem"]

services:
  frontend:
    rpc:
      grpcPort: $FRONTEND_PORT
      membershipPort: $FRONTEND_MEMBERSHIP_PORT
      bindOnIP: 127.0.0.1
      httpPort: $FRONTEND_HTTP_PORT
  matching:
    rpc:
      grpcPort: $MATCHING_PORT
      membershipPort: $MATCHING_MEMBERSHIP_PORT
      bindOnIP: 127.0.0.1
  history:
    rpc:
      grpcPort: $HISTORY_PORT
      membershipPort: $HISTORY_MEMBERSHIP_PORT
      bindOnIP: 127.0.0.1
  worker:
    rpc:
      grpcPort: $WORKER_PORT
      membershipPort: $WORKER_MEMBERSHIP_PORT
      bindOnIP: 127.0.0.1

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$FRONTEND_PORT"
      httpAddress: "127.0.0.1:$FRONTEND_HTTP_PORT"

dcRedirectionPolicy:
  policy: noop

dynamicConfigClient:
  filepath: "$DIR/dynamicconfig.yaml"
  pollInterval: 10s
EOF
