package profile

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/dict_assign.lua
var dictAssignLua string

var dictAssign = redis.NewScript(dictAssignLua)

var errUnknownCode = errors.New("unknown code")

// Dict is the Redis-backed dictionary of codes that packed profiles use
// for group, town, topic and source ids. Codes are assigned once, by
// whichever replica needs one first, and never change; each replica caches
// them in memory.
type Dict struct {
	rdb   redis.UniversalClient
	mu    sync.RWMutex
	codes map[Kind]map[string]uint16
	names map[Kind]map[uint16]string
}

// NewDict returns an empty dictionary over rdb; call Load or Ensure.
func NewDict(rdb redis.UniversalClient) *Dict {
	d := &Dict{rdb: rdb, codes: map[Kind]map[string]uint16{}, names: map[Kind]map[uint16]string{}}
	for _, k := range []Kind{KindGroup, KindTown, KindTopic, KindSource} {
		d.codes[k] = map[string]uint16{}
		d.names[k] = map[uint16]string{}
	}
	return d
}

// Code returns the cached code of id.
func (d *Dict) Code(kind Kind, id string) (uint16, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.codes[kind][id]
	return c, ok
}

// Name returns the cached id of code.
func (d *Dict) Name(kind Kind, code uint16) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.names[kind][code]
	return id, ok
}

// Load reads every dictionary from Redis into the cache.
func (d *Dict) Load(ctx context.Context) error {
	for kind := range d.codes {
		m, err := d.rdb.HGetAll(ctx, dictKey(kind)).Result()
		if err != nil {
			return fmt.Errorf("load %s dictionary: %w", kind, err)
		}
		for id, s := range m {
			c, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return fmt.Errorf("load %s dictionary: bad code %q for %q", kind, s, id)
			}
			d.put(kind, id, uint16(c))
		}
	}
	return nil
}

// Ensure makes sure every id has a code, assigning new ones in Redis.
func (d *Dict) Ensure(ctx context.Context, kind Kind, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, ok := d.Code(kind, id); ok {
			continue
		}
		c, err := dictAssign.Run(ctx, d.rdb, []string{dictKey(kind), dictSeqKey(kind)}, id, kind.max()).Int64()
		if err != nil {
			return fmt.Errorf("assign %s code for %q: %w", kind, id, err)
		}
		d.put(kind, id, uint16(c))
	}
	return nil
}

func (d *Dict) put(kind Kind, id string, c uint16) {
	d.mu.Lock()
	d.codes[kind][id] = c
	d.names[kind][c] = id
	d.mu.Unlock()
}

// ensureProfile assigns codes for every id p uses.
func (d *Dict) ensureProfile(ctx context.Context, p *Profile) error {
	if err := d.Ensure(ctx, KindGroup, p.Group); err != nil {
		return err
	}
	if err := d.Ensure(ctx, KindTown, p.Town); err != nil {
		return err
	}
	if err := d.Ensure(ctx, KindSource, p.Source); err != nil {
		return err
	}
	for _, in := range p.Interests {
		if err := d.Ensure(ctx, KindTopic, in.Topic); err != nil {
			return err
		}
	}
	return nil
}
