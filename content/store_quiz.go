package content

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Questions, competitions and events are stored the same way: one JSON
// record per id, an external_id index for imports, and (competitions and
// events) a code index, since residents type codes to join or sign up and
// the two share one namespace. They are not versioned: an edit of a
// published event (a moved venue) must reach sign-ups as it is.

// docKind describes how one record type is stored.
type docKind[T any] struct {
	kind string
	// fields returns pointers to the fields the store manages.
	fields func(*T) docFields
}

type docFields struct {
	id, ext *string
	code    *string // nil: no code
	status  *Status // nil: no status
	created *time.Time
}

var (
	questionKind = docKind[Question]{kindQuestion, func(q *Question) docFields {
		return docFields{id: &q.ID, ext: &q.ExternalID, created: &q.CreatedAt}
	}}
	competitionKind = docKind[Competition]{kindCompetition, func(c *Competition) docFields {
		return docFields{id: &c.ID, ext: &c.ExternalID, code: &c.Code, status: &c.Status, created: &c.CreatedAt}
	}}
	eventKind = docKind[Event]{kindEvent, func(e *Event) docFields {
		return docFields{id: &e.ID, ext: &e.ExternalID, code: &e.Code, status: &e.Status, created: &e.CreatedAt}
	}}
)

// codeAlphabet leaves out 0/O and 1/I, which residents confuse.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// codeLength is the length of a generated code.
const codeLength = 6

func randomCode() string {
	b := make([]byte, codeLength)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// putDoc creates (id == "" and no known external id) or replaces a record.
// With create, an existing external_id is ErrDuplicate; with !create and
// id set, a missing record is ErrNotFound. Status and codes carry over
// from the stored record unless v sets them.
func putDoc[T any](ctx context.Context, s *Store, dk docKind[T], account, id string, v T, create bool) (T, Outcome, error) {
	k := keysFor(account)
	var out T
	var outcome Outcome
	in := dk.fields(&v)
	watch := []string{k.ext(dk.kind)}
	if in.code != nil {
		watch = append(watch, k.codes())
	}
	err := s.txn(ctx, func(tx *redis.Tx) error {
		id := id
		if id == "" && *in.ext != "" {
			got, err := tx.HGet(ctx, k.ext(dk.kind), *in.ext).Result()
			switch {
			case err == nil && create:
				return fmt.Errorf("%w: %q is %s", ErrDuplicate, *in.ext, got)
			case err == nil:
				id = got
			case !errors.Is(err, redis.Nil):
				return err
			}
		}
		var old *T
		if id != "" {
			if err := tx.Watch(ctx, k.record(dk.kind, id)).Err(); err != nil {
				return err
			}
			o, err := getJSON[T](ctx, tx, k.record(dk.kind, id))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			old = o
		}
		next := v
		nf := dk.fields(&next)
		var oldCode string
		if old == nil {
			n, err := tx.Incr(ctx, k.seq(dk.kind)).Result()
			if err != nil {
				return err
			}
			*nf.id, *nf.created = newID(dk.kind, n), s.now()
			if nf.status != nil {
				*nf.status = StatusDraft
			}
			outcome = Created
		} else {
			of := dk.fields(old)
			*nf.id, *nf.created = *of.id, *of.created
			if *nf.ext == "" {
				*nf.ext = *of.ext
			}
			if nf.status != nil {
				*nf.status = *of.status
			}
			if nf.code != nil {
				oldCode = *of.code
				if *nf.code == "" {
					*nf.code = oldCode
				}
			}
			outcome = Updated
			if sameJSON(old, &next) {
				outcome = Unchanged
			}
		}
		if nf.code != nil {
			if err := claimCode(ctx, tx, k, nf.code, *nf.id); err != nil {
				return err
			}
		}
		out = next
		if outcome == Unchanged {
			return nil
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if err := setJSON(ctx, p, k.record(dk.kind, *nf.id), next); err != nil {
				return err
			}
			p.ZAdd(ctx, k.all(dk.kind), redis.Z{Score: float64(idNumber(dk.kind, *nf.id)), Member: *nf.id})
			if *nf.ext != "" {
				p.HSet(ctx, k.ext(dk.kind), *nf.ext, *nf.id)
			}
			if nf.code != nil {
				if oldCode != "" && !strings.EqualFold(oldCode, *nf.code) {
					p.HDel(ctx, k.codes(), strings.ToUpper(oldCode))
				}
				p.HSet(ctx, k.codes(), strings.ToUpper(*nf.code), *nf.id)
			}
			return nil
		})
		return err
	}, watch...)
	if err != nil {
		var zero T
		return zero, "", fmt.Errorf("save %s %s: %w", dk.kind, firstNonEmpty(id, *in.ext), err)
	}
	return out, outcome, nil
}

// claimCode checks that *code is free for id, generating one when empty.
func claimCode(ctx context.Context, tx *redis.Tx, k keys, code *string, id string) error {
	for tries := 0; ; tries++ {
		c := *code
		if c == "" {
			c = randomCode()
		}
		owner, err := tx.HGet(ctx, k.codes(), strings.ToUpper(c)).Result()
		if errors.Is(err, redis.Nil) || err == nil && owner == id {
			*code = c
			return nil
		}
		if err != nil {
			return err
		}
		if *code != "" {
			return fmt.Errorf("%w: %q is %s", ErrCodeTaken, c, owner)
		}
		if tries > 20 {
			return errors.New("no free code found")
		}
	}
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func getDoc[T any](ctx context.Context, s *Store, dk docKind[T], account, id string) (T, error) {
	v, err := getJSON[T](ctx, s.rdb, keysFor(account).record(dk.kind, id))
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s %s: %w", dk.kind, id, err)
	}
	return *v, nil
}

// listDocs returns records newest first, and the total count.
func listDocs[T any](ctx context.Context, s *Store, dk docKind[T], account string, keep func(*T) bool, offset, limit int) ([]T, int, error) {
	k := keysFor(account)
	ids, err := s.rdb.ZRevRange(ctx, k.all(dk.kind), 0, -1).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("list %ss: %w", dk.kind, err)
	}
	all, err := mgetJSON[T](ctx, s.rdb, ids, func(id string) string { return k.record(dk.kind, id) })
	if err != nil {
		return nil, 0, fmt.Errorf("list %ss: %w", dk.kind, err)
	}
	if keep != nil {
		all = slices.DeleteFunc(all, func(v T) bool { return !keep(&v) })
	}
	return page(all, offset, limit), len(all), nil
}

// publishDoc moves a draft competition or event to published; publishing
// twice is fine, anything else is ErrBadTransition.
func publishDoc[T any](ctx context.Context, s *Store, dk docKind[T], account, id string) (T, error) {
	k := keysFor(account)
	var out T
	err := s.txn(ctx, func(tx *redis.Tx) error {
		v, err := getJSON[T](ctx, tx, k.record(dk.kind, id))
		if err != nil {
			return err
		}
		st := dk.fields(v).status
		out = *v
		switch *st {
		case StatusPublished:
			return nil
		case StatusDraft, "":
		default:
			return fmt.Errorf("%w: cannot publish a %s %s", ErrBadTransition, *st, dk.kind)
		}
		*st = StatusPublished
		out = *v
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			return setJSON(ctx, p, k.record(dk.kind, id), v)
		})
		return err
	}, k.record(dk.kind, id))
	if err != nil {
		var zero T
		return zero, fmt.Errorf("publish %s %s: %w", dk.kind, id, err)
	}
	return out, nil
}

// CreateQuestion stores a new, validated question.
func (s *Store) CreateQuestion(ctx context.Context, account string, q Question) (Question, error) {
	out, _, err := putDoc(ctx, s, questionKind, account, "", q, true)
	return out, err
}

// UpsertQuestion creates or updates the question with q.ExternalID.
func (s *Store) UpsertQuestion(ctx context.Context, account string, q Question) (Question, Outcome, error) {
	if q.ExternalID == "" {
		return Question{}, "", errors.New("upsert question: external_id required")
	}
	return putDoc(ctx, s, questionKind, account, "", q, false)
}

// Question returns question id.
func (s *Store) Question(ctx context.Context, account, id string) (Question, error) {
	return getDoc(ctx, s, questionKind, account, id)
}

// QuestionFilter selects questions; empty fields select all.
type QuestionFilter struct {
	Topic         string
	Difficulty    int
	Limit, Offset int
}

// Questions lists questions matching f, newest first, and the total.
func (s *Store) Questions(ctx context.Context, account string, f QuestionFilter) ([]Question, int, error) {
	return listDocs(ctx, s, questionKind, account, func(q *Question) bool {
		return (f.Topic == "" || q.Topic == f.Topic) && (f.Difficulty == 0 || q.Difficulty == f.Difficulty)
	}, f.Offset, f.Limit)
}

// MissingQuestions returns those of ids that name no question.
func (s *Store) MissingQuestions(ctx context.Context, account string, ids []string) ([]string, error) {
	k := keysFor(account)
	var missing []string
	for chunk := range slices.Chunk(ids, mgetBatch) {
		ks := make([]string, len(chunk))
		for i, id := range chunk {
			ks[i] = k.record(kindQuestion, id)
		}
		vals, err := s.rdb.MGet(ctx, ks...).Result()
		if err != nil {
			return nil, fmt.Errorf("check questions: %w", err)
		}
		for i, v := range vals {
			if v == nil {
				missing = append(missing, chunk[i])
			}
		}
	}
	return missing, nil
}

// CreateCompetition stores a new, validated competition as a draft,
// generating a code when it has none. A code in use is ErrCodeTaken.
func (s *Store) CreateCompetition(ctx context.Context, account string, c Competition) (Competition, error) {
	out, _, err := putDoc(ctx, s, competitionKind, account, "", c, true)
	return out, err
}

// UpsertCompetition creates or updates the competition with c.ExternalID.
func (s *Store) UpsertCompetition(ctx context.Context, account string, c Competition) (Competition, Outcome, error) {
	if c.ExternalID == "" {
		return Competition{}, "", errors.New("upsert competition: external_id required")
	}
	return putDoc(ctx, s, competitionKind, account, "", c, false)
}

// Competition returns competition id.
func (s *Store) Competition(ctx context.Context, account, id string) (Competition, error) {
	return getDoc(ctx, s, competitionKind, account, id)
}

// Competitions lists competitions (status "" for all), newest first, and the total.
func (s *Store) Competitions(ctx context.Context, account string, status Status, offset, limit int) ([]Competition, int, error) {
	return listDocs(ctx, s, competitionKind, account, func(c *Competition) bool {
		return status == "" || c.Status == status
	}, offset, limit)
}

// PublishCompetition makes competition id live.
func (s *Store) PublishCompetition(ctx context.Context, account, id string) (Competition, error) {
	return publishDoc(ctx, s, competitionKind, account, id)
}

// CreateEvent stores a new, validated event as a draft, generating a code
// when it has none. A code in use is ErrCodeTaken.
func (s *Store) CreateEvent(ctx context.Context, account string, e Event) (Event, error) {
	out, _, err := putDoc(ctx, s, eventKind, account, "", e, true)
	return out, err
}

// UpsertEvent creates or updates the event with e.ExternalID.
func (s *Store) UpsertEvent(ctx context.Context, account string, e Event) (Event, Outcome, error) {
	if e.ExternalID == "" {
		return Event{}, "", errors.New("upsert event: external_id required")
	}
	return putDoc(ctx, s, eventKind, account, "", e, false)
}

// Event returns event id.
func (s *Store) Event(ctx context.Context, account, id string) (Event, error) {
	return getDoc(ctx, s, eventKind, account, id)
}

// Events lists events (status "" for all), newest first, and the total.
func (s *Store) Events(ctx context.Context, account string, status Status, offset, limit int) ([]Event, int, error) {
	return listDocs(ctx, s, eventKind, account, func(e *Event) bool {
		return status == "" || e.Status == status
	}, offset, limit)
}

// PublishEvent opens event id for sign-up.
func (s *Store) PublishEvent(ctx context.Context, account, id string) (Event, error) {
	return publishDoc(ctx, s, eventKind, account, id)
}

// ByCode returns the id of the competition or event with code (any case).
func (s *Store) ByCode(ctx context.Context, account, code string) (string, error) {
	id, err := s.rdb.HGet(ctx, keysFor(account).codes(), strings.ToUpper(code)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("code %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("code %q: %w", code, err)
	}
	return id, nil
}
