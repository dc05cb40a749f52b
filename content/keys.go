package content

import (
	"strconv"
	"strings"
)

// Every Redis key this package uses is built here. The whole library of an
// account (thousands of records) shares one hash tag, so every
// transaction and multi-key read runs on one Redis Cluster slot.
//
//	kb:{<acct>:content}:seq:<kind>          id counter (kind: item, question, competition, event)
//	kb:{<acct>:content}:<kind>:<id>         JSON of the record (an item: its latest version and status)
//	kb:{<acct>:content}:all:<kind>          ZSET of ids by sequence number
//	kb:{<acct>:content}:ext:<kind>          hash external_id → id
//	kb:{<acct>:content}:item:<id>:v:<n>     JSON of item version n, written once, never changed
//	kb:{<acct>:content}:item:<id>:h         list of Transition JSON, oldest first
//	kb:{<acct>:content}:item:<id>:audio     hash: the item's voice recording (format, ms, sha, data)
//	kb:{<acct>:content}:st:<status>         set of item ids in a status
//	kb:{<acct>:content}:pub:g:<group>       set of published item ids for a group ("*": all groups)
//	kb:{<acct>:content}:pub:t:<town>        same by town
//	kb:{<acct>:content}:pub:tp:<topic>      same by topic
//	kb:{<acct>:content}:pub:until           ZSET of published item ids by valid_until (unix s; +inf: none)
//	kb:{<acct>:content}:retired             ZSET of retired item ids by time retired (unix s)
//	kb:{<acct>:content}:code                hash upper-case code → competition or event id
//	kb:{<acct>:content}:pub:version         counter moved by every change to the published library
//
// Besides keys, one Pub/Sub channel: libraryChannel carries the id of an
// account whose published library changed, to every replica.

// everyone is the index member name for an empty audience list: group,
// town and topic ids are lower-case words and never "*".
const everyone = "*"

type keys struct{ tag string }

func keysFor(account string) keys { return keys{tag: "kb:{" + account + ":content}"} }

func (k keys) seq(kind string) string        { return k.tag + ":seq:" + kind }
func (k keys) record(kind, id string) string { return k.tag + ":" + kind + ":" + id }
func (k keys) all(kind string) string        { return k.tag + ":all:" + kind }
func (k keys) ext(kind string) string        { return k.tag + ":ext:" + kind }
func (k keys) version(id string, n int) string {
	return k.tag + ":item:" + id + ":v:" + strconv.Itoa(n)
}
func (k keys) history(id string) string { return k.tag + ":item:" + id + ":h" }
func (k keys) audio(id string) string   { return k.tag + ":item:" + id + ":audio" }
func (k keys) status(s Status) string   { return k.tag + ":st:" + string(s) }
func (k keys) pubGroup(g string) string { return k.tag + ":pub:g:" + g }
func (k keys) pubTown(t string) string  { return k.tag + ":pub:t:" + t }
func (k keys) pubTopic(t string) string { return k.tag + ":pub:tp:" + t }
func (k keys) pubUntil() string         { return k.tag + ":pub:until" }
func (k keys) retired() string          { return k.tag + ":retired" }
func (k keys) codes() string            { return k.tag + ":code" }
func (k keys) pubVersion() string       { return k.tag + ":pub:version" }

// libraryChannel is the Pub/Sub channel of library changes (WatchLibrary).
const libraryChannel = "kb:content:library"

// pubKeys lists the published-index sets an audience belongs to.
func (k keys) pubKeys(a Audience) []string {
	var out []string
	add := func(list []string, key func(string) string) {
		if len(list) == 0 {
			out = append(out, key(everyone))
		}
		for _, id := range list {
			out = append(out, key(id))
		}
	}
	add(a.Groups, k.pubGroup)
	add(a.Towns, k.pubTown)
	add(a.Topics, k.pubTopic)
	return out
}

// Record kinds, with the prefix of their ids.
const (
	kindItem        = "item"
	kindQuestion    = "question"
	kindCompetition = "competition"
	kindEvent       = "event"
)

var idPrefix = map[string]string{
	kindItem: "it_", kindQuestion: "q_", kindCompetition: "c_", kindEvent: "ev_",
}

func newID(kind string, n int64) string { return idPrefix[kind] + strconv.FormatInt(n, 10) }

// idNumber returns the sequence number of an id, or -1.
func idNumber(kind, id string) int64 {
	s, ok := strings.CutPrefix(id, idPrefix[kind])
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return -1
	}
	return n
}
