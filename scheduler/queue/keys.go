package queue

import (
	"hash/fnv"
	"strconv"
)

// Every Redis key this package uses is built here.
//
//	kb:{q:<name>:<lane>:<p>}:stream      jobs ready to run (a stream with consumer group "workers")
//	kb:{q:<name>:<lane>:<p>}:delayed     ZSET of jobs due later (score = due time in ms)
//	kb:{q:<name>:<lane>:<p>}:once:<id>   EnqueueOnce marker of job <id> (with TTL)
//	kb:{q:<name>}:dead                   dead letters (a stream, capped at deadLetterCap)
//	rate:kb:{rl:<key>}                   GCRA state of one rate limit (redis_rate adds "rate:")
//	kb:{mk:<scope>}                      idempotency bitmap of one scope
//
// A partition's stream, delayed set and markers share the hash tag
// {q:<name>:<lane>:<p>}, so the scripts that move a job between them run on
// one Redis Cluster slot, while different partitions spread over the
// cluster. Nothing touches keys of two tags in one command: moving a job to
// the dead letters is two steps (see Worker.bury).

// group is the consumer group every worker of a queue reads through.
const group = "workers"

// deadLetterCap bounds the dead-letter stream (approximately: MAXLEN ~).
const deadLetterCap = 100_000

type partition struct {
	lane Lane
	p    int
	tag  string
}

func partitionTag(name string, lane Lane, p int) string {
	return "kb:{q:" + name + ":" + lane.String() + ":" + strconv.Itoa(p) + "}"
}

func (pt partition) stream() string  { return pt.tag + ":stream" }
func (pt partition) delayed() string { return pt.tag + ":delayed" }
func (pt partition) once(id string) string {
	return pt.tag + ":once:" + id
}

func deadKey(name string) string { return "kb:{q:" + name + "}:dead" }

func rateKey(key string) string { return "kb:{rl:" + key + "}" }

func marksKey(scope string) string { return "kb:{mk:" + scope + "}" }

// partitionOf spreads job ids over n partitions.
func partitionOf(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}
