// Package importer loads content files into the library: YAML or JSON
// files holding `items:`, `questions:`, `competitions:` and `events:`
// lists, CSV files of items, or folders of them.
//
// An import is idempotent by external_id: a record seen before is updated
// in place (an item gets a new version only when its content changed), and
// never duplicated. Every record is validated and every problem is
// reported with its file and line, so an organizer fixes a file in one
// pass. Good records are imported and bad ones skipped, or, with
// AllOrNothing, nothing is written unless every record is good.
package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Options tune an import.
type Options struct {
	// AllOrNothing writes nothing unless every record is valid.
	AllOrNothing bool
	// Trusted publishes imported items (and competitions and events)
	// directly instead of leaving them as drafts for review; the item
	// history records the trusted import.
	Trusted bool
	// Vocabulary validates group, town and topic ids; nil uses the
	// embedded taxonomy (taxonomy.Default).
	Vocabulary content.Vocabulary
	// By is recorded as the author of what the import changes; default
	// "import".
	By string
	// Progress, when set, is called after each valid record is written
	// with how many are written and how many will be (for a long import's
	// progress line).
	Progress func(done, total int)
}

// Problem is one thing wrong with an input, where it is.
type Problem struct {
	File       string `json:"file"`
	Line       int    `json:"line"`                  // 1-based; 0 when the whole file is at fault
	Kind       string `json:"kind,omitempty"`        // item, question, competition, event
	ExternalID string `json:"external_id,omitempty"` // of the record, when known
	Field      string `json:"field,omitempty"`
	Message    string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Kind != "" {
		b.WriteString(p.Kind)
		if p.ExternalID != "" {
			b.WriteString(" " + p.ExternalID)
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Counts are what happened to the records of an import.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

func (c *Counts) add(o content.Outcome) {
	switch o {
	case content.Created:
		c.Created++
	case content.Updated:
		c.Updated++
	case content.Unchanged:
		c.Unchanged++
	}
}

// Report says what an import did. Problems are sorted by file and line.
type Report struct {
	Counts
	ByKind map[string]Counts `json:"by_kind"`
	Errors []Problem         `json:"errors"`
}

// OK reports whether every record was imported.
func (r *Report) OK() bool { return len(r.Errors) == 0 }

// Import reads paths (files or folders) and imports their records into
// account. Bad records are in the report, not the error: the error is for
// what stops the import (Redis down, a path that cannot be read, no
// taxonomy). With AllOrNothing and any bad record nothing is written:
// Failed counts the bad records and the other counts stay zero.
// AllOrNothing covers everything a file can say wrong; a conflict only the
// store sees while writing (a code another record took meanwhile, a
// change to a retired item) fails that record alone.
func Import(ctx context.Context, store *content.Store, account string, paths []string, opts Options) (Report, error) {
	if opts.Vocabulary == nil {
		tax, err := taxonomy.Default()
		if err != nil {
			return Report{}, fmt.Errorf("import: %w", err)
		}
		opts.Vocabulary = Vocabulary(tax)
	}
	if opts.By == "" {
		opts.By = "import"
	}
	files, err := expand(paths)
	if err != nil {
		return Report{}, fmt.Errorf("import: %w", err)
	}
	var recs []*record
	var probs []Problem
	for _, f := range files {
		rs, ps, err := parseFile(f)
		if err != nil {
			return Report{}, fmt.Errorf("import: %w", err)
		}
		recs = append(recs, rs...)
		probs = append(probs, ps...)
	}
	im := &importer{ctx: ctx, store: store, account: account, opts: opts,
		rep: Report{ByKind: map[string]Counts{}}}
	im.rep.Errors = probs
	for _, p := range probs {
		if p.Kind != "" { // a CSV row that could not be read
			im.fail(p.Kind)
		}
	}
	for _, r := range recs {
		if len(r.problems) > 0 {
			im.fail(r.kind)
			r.bad = true
			for _, p := range r.problems {
				p.ExternalID = r.externalID()
				im.rep.Errors = append(im.rep.Errors, p)
			}
		}
	}
	if err := im.validate(recs); err != nil {
		return Report{}, err
	}
	if !opts.AllOrNothing || len(im.rep.Errors) == 0 {
		if err := im.write(recs); err != nil {
			return im.rep, err
		}
	}
	slices.SortStableFunc(im.rep.Errors, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return im.rep, nil
}

type importer struct {
	ctx     context.Context
	store   *content.Store
	account string
	opts    Options
	rep     Report
}

func (im *importer) fail(kind string) {
	c := im.rep.ByKind[kind]
	c.Failed++
	im.rep.ByKind[kind] = c
	im.rep.Failed++
}

func (im *importer) done(kind string, o content.Outcome) {
	c := im.rep.ByKind[kind]
	c.add(o)
	im.rep.ByKind[kind] = c
	im.rep.add(o)
}

// problem records a problem with r (field may be empty) and marks r bad.
func (im *importer) problem(r *record, field, format string, args ...any) {
	if !r.bad {
		im.fail(r.kind)
	}
	r.bad = true
	im.rep.Errors = append(im.rep.Errors, Problem{File: r.file, Line: r.lineOf(field), Kind: r.kind,
		ExternalID: r.externalID(), Field: field, Message: fmt.Sprintf(format, args...)})
}

// validate checks every record and marks the bad ones.
func (im *importer) validate(recs []*record) error {
	seen := map[string]*record{}
	codes := map[string]*record{}
	// Records that were hard to read are validated too: an organizer
	// should see everything wrong with a file in one pass.
	for _, r := range recs {
		ext := r.externalID()
		if ext == "" {
			im.problem(r, "external_id", "required: imports are idempotent by external_id")
		} else if first, dup := seen[r.kind+"\x00"+ext]; dup {
			im.problem(r, "external_id", "%q already used at %s:%d", ext, first.file, first.line)
		} else {
			seen[r.kind+"\x00"+ext] = r
		}
		fields := r.validate(im.opts.Vocabulary)
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			im.problem(r, k, "%s", fields[k])
		}
		if code := r.code(); code != "" {
			up := strings.ToUpper(code)
			if first, dup := codes[up]; dup {
				im.problem(r, "code", "%q already used at %s:%d", code, first.file, first.line)
			} else {
				codes[up] = r
			}
		}
		if c, ok := r.value.(*content.Competition); ok && len(c.QuestionIDs) > 0 {
			missing, err := im.store.MissingQuestions(im.ctx, im.account, c.QuestionIDs)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if len(missing) > 0 {
				im.problem(r, "question_ids", "unknown questions: %s", strings.Join(missing, ", "))
			}
		}
	}
	return nil
}

// writeOrder imports questions before the competitions that may use them.
var writeOrder = []string{kindQuestion, kindItem, kindCompetition, kindEvent}

// write upserts the good records. A conflict the store finds (a code in
// use, a retired item changed) is a problem with that record; any other
// error stops the import.
func (im *importer) write(recs []*record) error {
	total, written := 0, 0
	for _, r := range recs {
		if !r.bad {
			total++
		}
	}
	for _, kind := range writeOrder {
		for _, r := range recs {
			if r.bad || r.kind != kind {
				continue
			}
			o, err := im.upsert(r)
			if isRecordError(err) {
				im.problem(r, "", "%v", err)
				continue
			}
			if err != nil {
				return fmt.Errorf("import %s %s (%s:%d): %w", r.kind, r.externalID(), r.file, r.line, err)
			}
			im.done(kind, o)
			if written++; im.opts.Progress != nil {
				im.opts.Progress(written, total)
			}
		}
	}
	return nil
}

func isRecordError(err error) bool {
	var ve *content.ValidationError
	return errors.As(err, &ve) || errors.Is(err, content.ErrCodeTaken) ||
		errors.Is(err, content.ErrBadTransition) || errors.Is(err, content.ErrDuplicate)
}

func (im *importer) upsert(r *record) (content.Outcome, error) {
	ctx, s, acct := im.ctx, im.store, im.account
	switch v := r.value.(type) {
	case *content.Item:
		_, o, err := s.UpsertItem(ctx, acct, *v, im.opts.By, im.opts.Trusted)
		return o, err
	case *content.Question:
		_, o, err := s.UpsertQuestion(ctx, acct, *v)
		return o, err
	case *content.Competition:
		c, o, err := s.UpsertCompetition(ctx, acct, *v)
		if err == nil && im.opts.Trusted && c.Status != content.StatusPublished {
			_, err = s.PublishCompetition(ctx, acct, c.ID)
			o = promote(o)
		}
		return o, err
	case *content.Event:
		e, o, err := s.UpsertEvent(ctx, acct, *v)
		if err == nil && im.opts.Trusted && e.Status != content.StatusPublished {
			_, err = s.PublishEvent(ctx, acct, e.ID)
			o = promote(o)
		}
		return o, err
	}
	return "", fmt.Errorf("unknown record type %T", r.value)
}

// promote counts a record whose only change is being published as updated.
func promote(o content.Outcome) content.Outcome {
	if o == content.Unchanged {
		return content.Updated
	}
	return o
}

// Vocabulary adapts the taxonomy to content.Vocabulary.
func Vocabulary(t *taxonomy.Taxonomy) content.Vocabulary { return taxVocab{t} }

type taxVocab struct{ t *taxonomy.Taxonomy }

func (v taxVocab) ValidGroup(id string) bool { _, ok := v.t.Group(id); return ok }
func (v taxVocab) ValidTown(id string) bool  { _, ok := v.t.Town(id); return ok }
func (v taxVocab) ValidTopic(id string) bool { _, ok := v.t.Topic(id); return ok }
