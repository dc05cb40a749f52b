package campaign

import "strconv"

// Every Redis key and bitmap name of this package is built here.
//
// Per account, one hash tag {<acct>:camp}:
//
//	kb:{<acct>:camp}:seq                  id counter
//	kb:{<acct>:camp}:ids                  ZSET of ids by creation time
//	kb:{<acct>:camp}:c:<id>               JSON Campaign
//	kb:{<acct>:camp}:c:<id>:snap          the audience was snapshot (start ran)
//	kb:{<acct>:camp}:c:<id>:left          chunk jobs not yet done
//	kb:{<acct>:camp}:c:<id>:left:w        ... of a variant campaign's winner phase
//	kb:{<acct>:camp}:c:<id>:chunks        SET of chunks done
//	kb:{<acct>:camp}:c:<id>:massitems     SET of items with mass recipients
//	kb:{<acct>:camp}:c:<id>:massclicks    clicks on mass links (not per subscriber)
//	kb:{<acct>:camp}:c:<id>:massgroups    mass recipients by group|item (learning from mass clicks)
//	kb:{<acct>:camp}:c:<id>:wechat        HASH of MASSSENDJOBFINISH counts
//	kb:{<acct>:camp}:pop                  HASH "<group>|<item>" → clicks (popularity)
//	kb:{<acct>:camp}:c:<id>:masscalls     HASH msg_id → whom the mass-send call addressed (openids|tag|all)
//	kb:{<acct>:camp}:msg:<msg_id>         the campaign of a mass send (7 days)
//	kb:{<acct>:camp}:msg:<msg_id>:folded  its report was counted
//	kb:{links}:key                        the click-link signing key
//	kb:{jobs}:camp:<key>                  "<acct>:<id>": the campaign started once for key (StartOnce;
//	                                      the name scheduler/jobs gave it first, kept so ticks stay idempotent)
//
// Per-recipient state lives in each profile shard, as bitmaps named below
// (keys from profile.IndexKey): the audience snapshot and clicks here, the
// delivery states in notify (Scope "c:<id>").

func campTag(account string) string { return "kb:{" + account + ":camp}" }

func onceKey(key string) string { return "kb:{jobs}:camp:" + key }

func seqKey(account string) string { return campTag(account) + ":seq" }
func idsKey(account string) string { return campTag(account) + ":ids" }

func campKey(account, id string) string { return campTag(account) + ":c:" + id }

func snapKey(account, id string) string { return campKey(account, id) + ":snap" }
func leftKey(account, id string) string { return campKey(account, id) + ":left" }

// leftKeyOf is the chunk counter of phase (1: a variant campaign's
// winner phase, kb:{<acct>:camp}:c:<id>:left:w).
func leftKeyOf(account, id string, phase int) string {
	if phase > 0 {
		return leftKey(account, id) + ":w"
	}
	return leftKey(account, id)
}
func chunksKey(account, id string) string     { return campKey(account, id) + ":chunks" }
func massItemsKey(account, id string) string  { return campKey(account, id) + ":massitems" }
func massClicksKey(account, id string) string { return campKey(account, id) + ":massclicks" }

// massGroupsKey counts a campaign's mass recipients by item and group
// (field popField(group, item)): whom a mass link's clicks came from, in
// proportion.
func massGroupsKey(account, id string) string { return campKey(account, id) + ":massgroups" }
func wechatKey(account, id string) string     { return campKey(account, id) + ":wechat" }
func massCallsKey(account, id string) string  { return campKey(account, id) + ":masscalls" }

func popKey(account string) string { return campTag(account) + ":pop" }

// popField is a popularity counter's field: group "" is subscribers
// without a group.
func popField(group, item string) string { return group + "|" + item }

func msgKey(account string, msgID int64) string {
	return campTag(account) + ":msg:" + strconv.FormatInt(msgID, 10)
}

const linksKey = "kb:{links}:key"

// Bitmap names in the profile shards.
func audIndex(id string) string     { return "c:" + id + ":aud" }
func previewIndex(id string) string { return "c:" + id + ":preview" }
func clickIndex(id string) string   { return "c:" + id + ":click" }

// variantIndex (variants.go) names "c:<id>:v<k>", the recipients of
// variant k, and "c:<id>:hold", the holdout.
