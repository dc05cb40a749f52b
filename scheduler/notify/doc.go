// Package notify is kepubot's one way to send a message to a subscriber.
//
// Campaigns (scheduler/campaign), event reminders, wait-list promotions and
// feedback questions (bot/signup) decide who gets what; notify does the
// rest, for every one of them the same way: it claims each message, waits
// for the shared rate limit, sends through WeChat, classifies WeChat's
// answer, spends the subscriber's window, quota or monthly mass budget, and
// records the outcome. No other package calls WeChat's send endpoints.
//
// # Per-message states
//
// A delivery's messages live in a Scope (a campaign, or one notice of an
// event). Each message is a bit, in bitmaps kept in the subscriber's
// profile shard beside the profile bitmaps (one hash tag, so every script
// runs on one Redis Cluster slot):
//
//	pending ──claim──▶ in flight ──▶ sent | failed(reason) | unreachable(reason)
//	   ▲                  │
//	   └── retryable ─────┘   (WeChat -1/45009/40001, a network error, shutdown)
//
// Pending is every audience bit with none of the others set. A batch of
// one shard is worked under a lease (an owner token with a lifetime, renewed
// with every write); messages are claimed (their in-flight bit set) in
// waves of Config.Senders, sent in parallel, and settled together with the
// claim of the next wave: one Redis round trip per wave, not per message.
// A retryable answer clears the claim and leaves the message pending; it is
// retried with backoff in the same run, then by the job's retry.
//
// A run that dies (SIGKILL, lost Redis) leaves its last wave in flight. When
// its lease has expired, the next run finds those messages in flight with no
// outcome: in doubt. They are sent again: a template message with the same
// client_msg_id (WeChat deduplicates it), a customer-service message as a
// second copy (counted in the scope's "in_doubt_resent" reason; a second
// copy of a science tip is better than none). Mass sends carry a clientmsgid
// derived from their recipients, so a repeated call is deduplicated by
// WeChat (45065). Hence: no message is lost, and a duplicate is possible
// only for a customer-service message in flight at a crash — at most
// Config.Senders per running batch — and each one is counted.
//
// # Mass sends by group
//
// MassAll sends a mass message to a whole Group (every follower, or a
// synced WeChat tag) in one sendall call when every member of the group's
// bitmap waits for that very send, and by openid lists for the rest: a
// group send reaches all its members on WeChat's side, so it is used only
// when it reaches exactly the recipients the lists would (see Group).
//
// Redis keys are built in keys.go; the script in scripts/ documents its
// KEYS, ARGV and result.
package notify
