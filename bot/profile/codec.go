package profile

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A packed profile (version 1), big-endian:
//
//	off len field
//	 0   1  version (1)
//	 1   1  flags: bit0 subscribed, bit1 opted out, bits 2-3 onboarding step
//	 2   1  group code (0 = none)
//	 3   1  town code (0 = none)
//	 4   2  source code (0 = none)
//	 6   4  created at (unix seconds; 0 = zero time)
//	10   4  last active at
//	14   4  opt changed at
//	18   4  interests at
//	22   4  last message at
//	26   1  messages used
//	27   4  last event at
//	31   1  event messages used
//	32   2  mass month
//	34   1  mass count
//	35   1  n interests (≤ MaxInterests)
//	36  2n  (topic code, weight) pairs
//
// At most 52 bytes, below Redis's default hash-max-listpack-value of 64, so
// a bucket of profiles stays a compact listpack.
const (
	codecVersion = 1
	headerLen    = 36
)

// Codes maps taxonomy and source ids to the small numbers packed profiles
// store, and back. Dict implements it over Redis.
type Codes interface {
	Code(kind Kind, id string) (uint16, bool)
	Name(kind Kind, code uint16) (string, bool)
}

// Kind names a dictionary of codes.
type Kind string

// The dictionaries packed profiles use.
const (
	KindGroup  Kind = "group"
	KindTown   Kind = "town"
	KindTopic  Kind = "topic"
	KindSource Kind = "source"
)

func (k Kind) max() uint16 {
	if k == KindSource {
		return 1<<16 - 1
	}
	return 255
}

// encode packs p. Every id in p must already have a code.
func encode(p *Profile, codes Codes) ([]byte, error) {
	if len(p.Interests) > MaxInterests {
		return nil, fmt.Errorf("encode profile: %d interests, max %d", len(p.Interests), MaxInterests)
	}
	b := make([]byte, headerLen+2*len(p.Interests))
	b[0] = codecVersion
	var flags byte
	if p.Subscribed {
		flags |= 1
	}
	if p.OptedOut {
		flags |= 2
	}
	flags |= byte(p.Step&3) << 2
	b[1] = flags
	code := func(k Kind, id string) (uint16, error) {
		if id == "" {
			return 0, nil
		}
		c, ok := codes.Code(k, id)
		if !ok {
			return 0, fmt.Errorf("encode profile: no code for %s %q", k, id)
		}
		return c, nil
	}
	g, err := code(KindGroup, p.Group)
	if err != nil {
		return nil, err
	}
	t, err := code(KindTown, p.Town)
	if err != nil {
		return nil, err
	}
	s, err := code(KindSource, p.Source)
	if err != nil {
		return nil, err
	}
	b[2], b[3] = byte(g), byte(t)
	binary.BigEndian.PutUint16(b[4:], s)
	putTime(b[6:], p.CreatedAt)
	putTime(b[10:], p.LastActiveAt)
	putTime(b[14:], p.OptChangedAt)
	putTime(b[18:], p.InterestsAt)
	putTime(b[22:], p.LastMessageAt)
	b[26] = p.MessagesUsed
	putTime(b[27:], p.LastEventAt)
	b[31] = p.EventMsgsUsed
	binary.BigEndian.PutUint16(b[32:], p.MassMonth)
	b[34] = p.MassCount
	b[35] = byte(len(p.Interests))
	for i, in := range p.Interests {
		c, err := code(KindTopic, in.Topic)
		if err != nil {
			return nil, err
		}
		b[headerLen+2*i] = byte(c)
		b[headerLen+2*i+1] = in.Weight
	}
	return b, nil
}

// decode unpacks a profile written by encode. Ids whose code is unknown
// (a dictionary entry this replica has not loaded) fail, so the caller can
// reload the dictionary and try again.
func decode(b []byte, codes Codes) (*Profile, error) {
	if len(b) < headerLen || b[0] != codecVersion {
		return nil, fmt.Errorf("decode profile: bad header (%d bytes)", len(b))
	}
	n := int(b[35])
	if len(b) != headerLen+2*n || n > MaxInterests {
		return nil, fmt.Errorf("decode profile: %d bytes for %d interests", len(b), n)
	}
	p := &Profile{
		Subscribed: b[1]&1 != 0,
		OptedOut:   b[1]&2 != 0,
		Step:       Step(b[1]>>2) & 3,
	}
	name := func(k Kind, c uint16) (string, error) {
		if c == 0 {
			return "", nil
		}
		id, ok := codes.Name(k, c)
		if !ok {
			return "", fmt.Errorf("decode profile: %w: %s code %d", errUnknownCode, k, c)
		}
		return id, nil
	}
	var err error
	if p.Group, err = name(KindGroup, uint16(b[2])); err != nil {
		return nil, err
	}
	if p.Town, err = name(KindTown, uint16(b[3])); err != nil {
		return nil, err
	}
	if p.Source, err = name(KindSource, binary.BigEndian.Uint16(b[4:])); err != nil {
		return nil, err
	}
	p.CreatedAt = getTime(b[6:])
	p.LastActiveAt = getTime(b[10:])
	p.OptChangedAt = getTime(b[14:])
	p.InterestsAt = getTime(b[18:])
	p.LastMessageAt = getTime(b[22:])
	p.MessagesUsed = b[26]
	p.LastEventAt = getTime(b[27:])
	p.EventMsgsUsed = b[31]
	p.MassMonth = binary.BigEndian.Uint16(b[32:])
	p.MassCount = b[34]
	if n > 0 {
		p.Interests = make([]Interest, n)
	}
	for i := range n {
		topic, err := name(KindTopic, uint16(b[headerLen+2*i]))
		if err != nil {
			return nil, err
		}
		p.Interests[i] = Interest{Topic: topic, Weight: b[headerLen+2*i+1]}
	}
	return p, nil
}

func putTime(b []byte, t time.Time) {
	var v uint32
	if !t.IsZero() && t.Unix() > 0 {
		v = uint32(t.Unix())
	}
	binary.BigEndian.PutUint32(b, v)
}

func getTime(b []byte) time.Time {
	v := binary.BigEndian.Uint32(b)
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}
