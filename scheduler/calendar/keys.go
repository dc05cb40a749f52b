package calendar

// Every Redis key of this package is built here. Per account A, one hash
// tag {A:calendar}:
//
//	kb:{A:calendar}:seq           booking id counter
//	kb:{A:calendar}:m:<YYYY-MM>   LIST of Booking JSON of that month, in booking order
//	kb:{A:calendar}:lock:<YYYY-MM> held while a booking of the month is checked (expires)
//
// and, in the profile shards (profile.IndexKey), the audience bitmap of
// each booking while a budget is computed: bk:<id> (expires).

func tag(account string) string { return "kb:{" + account + ":calendar}" }

func seqKey(account string) string          { return tag(account) + ":seq" }
func monthKey(account, month string) string { return tag(account) + ":m:" + month }
func lockKey(account, month string) string  { return tag(account) + ":lock:" + month }

func audienceIndex(id string) string { return "bk:" + id }
