// Package redisconn opens kepubot's Redis client from its URL: one server
// (redis://host:port/db) or a Redis Cluster (a comma-separated list of seed
// nodes), with the Cluster options that make a client follow a failover
// within seconds. The service, its CLI and the test kit all connect here,
// so a fault test's worker process runs with the options production runs
// with.
//
// Why these Cluster options (go-redis v9 defaults in brackets):
//
//   - DialTimeout 1 s [5 s]: a SIGKILLed master's port refuses at once, but
//     a master behind a dead host or partition never answers; a short dial
//     lets the retry move on to the promoted replica quickly.
//   - ReadTimeout / WriteTimeout 2 s [3 s]: commands are small; a stuck
//     node fails over to the next attempt inside WeChat's 5 s webhook limit.
//   - MaxRedirects 8 [3]: a failover (node-timeout plus the election, 2–5 s
//     with cluster-node-timeout 1–2 s) answers CLUSTERDOWN, MOVED and
//     connection errors in turn; each attempt backs off (MinRetryBackoff
//     50 ms, MaxRetryBackoff 1 s), so 8 attempts span the promotion.
//   - ClusterStateReloadInterval 5 s [60 s]: the slot table is refreshed in
//     the background even when no command failed.
//   - ReadOnly, RouteByLatency, RouteRandomly off: every read goes to the
//     master, so a reader sees its own writes (replicas lag) and nothing
//     reads a replica that is about to be demoted or is still loading.
//   - A hook reloads the slot table (ReloadState, which coalesces and
//     cools down for 200 ms) on every connection error and on CLUSTERDOWN /
//     TRYAGAIN: go-redis reloads on MOVED by itself, but a dead master
//     answers with connection errors, never MOVED, and without the hook
//     the client dialled it until the next periodic reload (60 s).
package redisconn
