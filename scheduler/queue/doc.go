// Package queue is kepubot's delivery queue: a job queue on Redis streams
// with consumer groups, shared by every replica, plus the two helpers its
// handlers need, a global rate limiter (Limiter) and idempotency bitmaps
// (Marks).
//
// # Why streams and not a queue library
//
// hibiken/asynq was the alternative. We chose plain Redis streams because
// our jobs are many small chunk jobs (one send, or one mass-send batch)
// where asynq spends several keys and round trips per task; because we need
// one rate limit per WeChat API across all replicas, which asynq does not
// offer; because we want to control the hash tags so the queue runs on a
// Redis Cluster with each partition on its own slot; and because the
// zero-setup mode runs on the embedded miniredis, which supports every
// command used here (XADD, XREADGROUP, XACK, XDEL, XAUTOCLAIM, XCLAIM,
// XPENDING, EVAL).
//
// # Design
//
// A queue has two lanes, priority and bulk, each split into Partitions
// streams; a job's partition is a hash of its ID. Workers on every replica
// read through one consumer group. A worker reads only as many entries as
// it has idle goroutines, priority partitions first, bulk only when the
// priority lane is empty, so replies and reminders overtake a campaign.
//
// Delivery is at least once. A finished job is acknowledged and deleted
// (XACK + XDEL, batched). A failed one is rescheduled with backoff into the
// partition's delayed ZSET and acknowledged in one script (both keys share
// the partition's hash tag); every worker moves due delayed jobs back into
// the streams (one script per partition). After MaxAttempts failures, or at
// once for Permanent errors, a job becomes a dead letter, kept for
// organizers to inspect (DeadLetters) and retry (RetryDead).
//
// A delivery that stays unacknowledged longer than VisibilityTimeout — its
// replica crashed or lost Redis — is taken over by another worker
// (XAUTOCLAIM) and runs again; workers extend the timeout of the jobs they
// are still running, so only dead workers lose their jobs. Hence handlers
// must make effects idempotent: Marks keeps one bit per (scope, recipient),
// and WeChat's client_msg_id / clientmsgid deduplicates on WeChat's side.
//
// Redis keys are listed in keys.go; the Lua scripts in scripts/ document
// their KEYS, ARGV and results.
package queue
