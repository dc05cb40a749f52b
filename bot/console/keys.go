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
//	kb:{console}:fail:n:<name>    failed logins for a name (admin.FoldName), expiring with the window
//	kb:{console}:fail:ip:<ip>     failed logins from a client IP, likewise
//
// Session ids are stored only as SHA-256 hashes: a leaked Redis dump holds
// no cookie that logs anyone in.
func passwordKey(uid string) string     { return "kb:{console}:pw:" + uid }
func sessionKey(hash string) string     { return "kb:{console}:sess:" + hash }
func userSessionsKey(uid string) string { return "kb:{console}:usess:" + uid }
func nameFailKey(name string) string    { return "kb:{console}:fail:n:" + name }
func ipFailKey(ip string) string        { return "kb:{console}:fail:ip:" + ip }
func hashSessionID(id string) string    { s := sha256.Sum256([]byte(id)); return hex.EncodeToString(s[:]) }
