package signup

import "time"

// Every Redis key this package uses is built here. All keys of one event
// share the hash tag {<acct>:ev:<id>}, so each script touches one Redis
// Cluster slot.
//
//	kb:{<acct>:ev:<id>}:confirmed   ZSET openid → sign-up sequence number
//	kb:{<acct>:ev:<id>}:waitlist    ZSET openid → sign-up sequence number
//	kb:{<acct>:ev:<id>}:seq         sign-up sequence counter
//	kb:{<acct>:ev:<id>}:who         hash openid → "<group>|<town>" (for statistics)
//	kb:{<acct>:ev:<id>}:attended    ZSET openid → check-in time (unix ms)
//	kb:{<acct>:ev:<id>}:asked       set of openids the feedback question was sent to
//	kb:{<acct>:ev:<id>}:feedback    hash openid → answer ("1", "2", "3")
//	kb:{<acct>:ev:<id>}:rem:<off>   set of openids reminded at offset off (e.g. "24h")
//	kb:{<acct>:ev:<id>}:promo       set of cancellation op ids whose promotion was notified
//	kb:{<acct>:ev:<id>}:op:<opid>   result of one chat operation, kept for handler reruns (TTL)
//	kb:{<acct>:ev:<id>}:meta        hash: "campaign" → notice campaign id, "rem:<off>:<unix>" → scheduled
//	kb:{<acct>:ev:<id>}:reasons     hash reason → count of notices not delivered

type keys struct{ tag string }

func keysFor(account, event string) keys { return keys{tag: "kb:{" + account + ":ev:" + event + "}"} }

func (k keys) confirmed() string          { return k.tag + ":confirmed" }
func (k keys) waitlist() string           { return k.tag + ":waitlist" }
func (k keys) seq() string                { return k.tag + ":seq" }
func (k keys) who() string                { return k.tag + ":who" }
func (k keys) attended() string           { return k.tag + ":attended" }
func (k keys) asked() string              { return k.tag + ":asked" }
func (k keys) feedback() string           { return k.tag + ":feedback" }
func (k keys) reminded(off string) string { return k.tag + ":rem:" + off }
func (k keys) promo() string              { return k.tag + ":promo" }
func (k keys) op(id string) string        { return k.tag + ":op:" + id }
func (k keys) meta() string               { return k.tag + ":meta" }
func (k keys) reasons() string            { return k.tag + ":reasons" }

// all lists an event's keys, except the reminder sets and op results
// (found with their prefixes).
func (k keys) all() []string {
	return []string{k.confirmed(), k.waitlist(), k.seq(), k.who(), k.attended(), k.asked(),
		k.feedback(), k.promo(), k.meta(), k.reasons()}
}

// opTTL is how long a chat operation's result is kept: longer than any
// rerun of its handler (WeChat retries within about 15 s).
const opTTL = 10 * time.Minute
