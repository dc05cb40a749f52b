package console

import (
	"crypto/sha256"
	"encoding/hex"
)

// Every Redis key of the console is built here. They share the hash tag
// {console}, so a MULTI over a user's sessions and password runs on one
// Redis Cluster slot.
//
//	kb:{console}:pw:<uid>         bcrypt hash of a user's console password
//	kb:{console}:sess:<sha256>    hash of a session (uid, name, role, csrf), with TTL
//	kb:{console}:usess:<uid>      ZSET of the user's session key hashes, scored by expiry
//	kb:{console}:fail:n:<hash>    login attempts for a name (admin.Throttle counter)
//	kb:{console}:fail:p:<hash>    login attempts for a name from one client IP, likewise
//	kb:{console}:fail:ip:<ip>     login attempts from a client IP, likewise
//
// <hash> is a SHA-256 of the folded name (admin.FoldName): a password typed
// into the name field never lands in a key name.
//
// Session ids are stored only as SHA-256 hashes: a leaked Redis dump holds
// no cookie that logs anyone in.
func passwordKey(uid string) string     { return "kb:{console}:pw:" + uid }
func sessionKey(hash string) string     { return "kb:{console}:sess:" + hash }
func userSessionsKey(uid string) string { return "kb:{console}:usess:" + uid }
func nameFailKey(name string) string    { return "kb:{console}:fail:n:" + nameHash(name) }
func pairFailKey(name, ip string) string {
	return "kb:{console}:fail:p:" + nameHash(name+"\x00"+ip)
}
func ipFailKey(ip string) string { return "kb:{console}:fail:ip:" + ip }

// nameHash is how a login name appears in keys and the audit log: a
// prefix of its SHA-256, enough to tell two names apart, not to read one.
func nameHash(name string) string { s := sha256.Sum256([]byte(name)); return hex.EncodeToString(s[:8]) }

func hashSessionID(id string) string { s := sha256.Sum256([]byte(id)); return hex.EncodeToString(s[:]) }
