package alerts

// Every Redis key of this package is built here. Per account A, one hash
// tag {A:alerts} (the commands here touch one key each; the tag keeps an
// account's alerts on one Cluster slot):
//
//	kb:{A:alerts}:a:<id>     JSON Record of one alert (id: hash of sender+identifier)
//	kb:{A:alerts}:ids        ZSET of alert ids by the time they were taken in (ms)
//	kb:{A:alerts}:lock:<id>  the replica sending alert id now (expires)
//	kb:{A:alerts}:hold       "1": hold automatic sending, organizers approve each alert

func tag(account string) string { return "kb:{" + account + ":alerts}" }

func recordKey(account, id string) string { return tag(account) + ":a:" + id }
func idsKey(account string) string        { return tag(account) + ":ids" }
func lockKey(account, id string) string   { return tag(account) + ":lock:" + id }
func holdKey(account string) string       { return tag(account) + ":hold" }
