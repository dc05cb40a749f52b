package calendar

// Every Redis key of this package is built here. Per account A, one hash
// tag {A:calendar}:
//
//	kb:{A:calendar}:seq             booking id counter
//	kb:{A:calendar}:m:<YYYY-MM>     LIST of Booking JSON of that month, in booking order
//	kb:{A:calendar}:lock:<YYYY-MM>  held while a booking of the month is checked (expires)
//	kb:{A:calendar}:ids             HASH booking id → its month (YYYY-MM)
//	kb:{A:calendar}:links:<id>      SET: the bitmaps of whom the booking's campaigns
//	                                sent by mass send (Link; expires with the snapshot)
//	kb:{A:calendar}:snap:<id>       marks the booking's audience snapshot as kept (expires with it)
//
// and, in the profile shards (profile.IndexKey), each booking's audience
// as booked: bk:<id>, kept until a week after its month (a booking made
// before snapshots were kept is snapshotted when first read).

func tag(account string) string { return "kb:{" + account + ":calendar}" }

func seqKey(account string) string          { return tag(account) + ":seq" }
func monthKey(account, month string) string { return tag(account) + ":m:" + month }
func lockKey(account, month string) string  { return tag(account) + ":lock:" + month }
func idsKey(account string) string          { return tag(account) + ":ids" }
func linksKey(account, id string) string    { return tag(account) + ":links:" + id }
func snapKey(account, id string) string     { return tag(account) + ":snap:" + id }

func audienceIndex(id string) string { return "bk:" + id }
