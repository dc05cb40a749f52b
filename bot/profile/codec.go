package profile

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A packed profile (version 2), big-endian:
//
//	off len field
//	 0   1  version (1)
//	 1   1  flags: bit0 subscribed, bit1 opted out, bits 2-3 onboarding step,
//	        bit4 elder mode
//	 2   4  local id (written by the commit script for a new subscriber)
//	 6   1  group code (0 = none)
//	 7   1  town code (0 = none)
//	 8   2  source code (0 = none)
//	10   4  created at (unix seconds; 0 = zero time)
//	14   4  last active at
//	18   4  opt changed at
//	22   4  interests at
//	26   4  last message at
//	30   1  messages used
//	31   4  last event at
//	35   1  event messages used
//	36   3  reserved, zero (the monthly mass budget was counted here;
//	        it lives in bitmaps now, MassLevelIndex)
//	39   1  n interests (≤ MaxInterests)
//	40  2n  (topic code, weight) pairs
//	+0   1  reading X (signed; version 2)
//	+1   1  reading Y
//
// At most 58 bytes, below Redis's default hash-max-listpack-value of 64, so
// a bucket of profiles stays a compact listpack. Version 1 is version 2
// without the reading (it decodes as a reading that knows nothing); the
// scripts read only the header and the pairs, the same in both.
const (
	codecVersion = 2
	headerLen    = 40
	trailerLen   = 2
	lidOffset    = 2
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
func encode(p *Profile, lid int64, codes Codes) ([]byte, error) {
	if len(p.Interests) > MaxInterests {
		return nil, fmt.Errorf("encode profile: %d interests, max %d", len(p.Interests), MaxInterests)
	}
	b := make([]byte, headerLen+2*len(p.Interests)+trailerLen)
	b[0] = codecVersion
	var flags byte
	if p.Subscribed {
		flags |= 1
	}
	if p.OptedOut {
		flags |= 2
	}
	flags |= byte(p.Step&3) << 2
	if p.Elder {
		flags |= 16
	}
	b[1] = flags
	binary.BigEndian.PutUint32(b[lidOffset:], uint32(lid))
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
	b[6], b[7] = byte(g), byte(t)
	binary.BigEndian.PutUint16(b[8:], s)
	putTime(b[10:], p.CreatedAt)
	putTime(b[14:], p.LastActiveAt)
	putTime(b[18:], p.OptChangedAt)
	putTime(b[22:], p.InterestsAt)
	putTime(b[26:], p.LastMessageAt)
	b[30] = p.MessagesUsed
	putTime(b[31:], p.LastEventAt)
	b[35] = p.EventMsgsUsed
	b[39] = byte(len(p.Interests))
	for i, in := range p.Interests {
		c, err := code(KindTopic, in.Topic)
		if err != nil {
			return nil, err
		}
		b[headerLen+2*i] = byte(c)
		b[headerLen+2*i+1] = in.Weight
	}
	b[len(b)-2], b[len(b)-1] = byte(p.Reading.X), byte(p.Reading.Y)
	return b, nil
}

// decode unpacks a profile written by encode. Ids whose code is unknown
// (a dictionary entry this replica has not loaded) fail, so the caller can
// reload the dictionary and try again.
func decode(b []byte, codes Codes) (*Profile, int64, error) {
	if len(b) < headerLen || (b[0] != 1 && b[0] != codecVersion) {
		return nil, 0, fmt.Errorf("decode profile: bad header (%d bytes)", len(b))
	}
	n := int(b[39])
	trailer := 0
	if b[0] == codecVersion {
		trailer = trailerLen
	}
	if len(b) != headerLen+2*n+trailer || n > MaxInterests {
		return nil, 0, fmt.Errorf("decode profile: %d bytes for %d interests", len(b), n)
	}
	lid := int64(binary.BigEndian.Uint32(b[lidOffset:]))
	p := &Profile{
		Subscribed: b[1]&1 != 0,
		OptedOut:   b[1]&2 != 0,
		Step:       Step(b[1]>>2) & 3,
		Elder:      b[1]&16 != 0,
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
	if p.Group, err = name(KindGroup, uint16(b[6])); err != nil {
		return nil, 0, err
	}
	if p.Town, err = name(KindTown, uint16(b[7])); err != nil {
		return nil, 0, err
	}
	if p.Source, err = name(KindSource, binary.BigEndian.Uint16(b[8:])); err != nil {
		return nil, 0, err
	}
	p.CreatedAt = getTime(b[10:])
	p.LastActiveAt = getTime(b[14:])
	p.OptChangedAt = getTime(b[18:])
	p.InterestsAt = getTime(b[22:])
	p.LastMessageAt = getTime(b[26:])
	p.MessagesUsed = b[30]
	p.LastEventAt = getTime(b[31:])
	p.EventMsgsUsed = b[35]
	if n > 0 {
		p.Interests = make([]Interest, n)
	}
	for i := range n {
		topic, err := name(KindTopic, uint16(b[headerLen+2*i]))
		if err != nil {
			return nil, 0, err
		}
		p.Interests[i] = Interest{Topic: topic, Weight: b[headerLen+2*i+1]}
	}
	if trailer > 0 {
		p.Reading = Reading{X: int8(b[len(b)-2]), Y: int8(b[len(b)-1])}
	}
	return p, lid, nil
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
