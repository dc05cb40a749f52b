package importer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content"
)

const samples = "../../configs/samples"

type bundle struct {
	ctx   context.Context
	store *content.Store
}

func setup(t testing.TB) bundle {
	t.Helper()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	return bundle{ctx: context.Background(), store: content.NewStore(redistest.Start(t), func() time.Time { return now })}
}

func TestImportSamplesTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, err := Import(b.ctx, b.store, "default", []string{samples}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.OK() || first.Created < 120 || first.Updated+first.Unchanged+first.Failed != 0 {
		t.Fatalf("first import = %+v, want everything created and no errors", first)
	}
	items, total, err := b.store.Items(b.ctx, "default", content.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Import(b.ctx, b.store, "default", []string{samples}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !second.OK() || second.Unchanged != first.Created || second.Created+second.Updated != 0 {
		t.Errorf("second import = %+v, want all %d unchanged", second.Counts, first.Created)
	}
	again, total2, err := b.store.Items(b.ctx, "default", content.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total2 != total || total != first.ByKind[kindItem].Created {
		t.Errorf("items after the second import = %d, want %d", total2, total)
	}
	for i := range items {
		if again[i].ID != items[i].ID || again[i].Version != 1 || again[i].Status != content.StatusDraft {
			t.Errorf("item %s: v%d %s after re-import, want v1 draft", again[i].ID, again[i].Version, again[i].Status)
		}
	}
	for kind, want := range map[string]int{kindQuestion: 40, kindEvent: 4, kindCompetition: 3} {
		if got := first.ByKind[kind].Created; got != want {
			t.Errorf("created %d %ss, want %d", got, kind, want)
		}
	}
	// Drafts never reach delivery.
	if pub, err := b.store.Published(b.ctx, "default", content.Query{}); err != nil || len(pub) != 0 {
		t.Errorf("Published() after an untrusted import = %d items, %v; want none", len(pub), err)
	}
}

// TestImportBadRecords imports files with three bad records each: all
// three are reported with their lines and the good ones are imported.
func TestImportBadRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		lines map[string][]int // external id → lines of its problems
		good  []string
	}{
		{"bad.yaml", map[string][]int{"t-bad-title": {10}, "t-bad-topic": {18}, "t-bad-question": {31, 35}},
			[]string{"t-good-1", "t-good-2"}},
		{"bad.json", map[string][]int{"j-bad-url": {6}, "j-bad-priority": {9}, "j-bad-event": {13}},
			[]string{"j-good-1"}},
		{"bad.csv", map[string][]int{"c-bad-month": {3}, "c-bad-group": {4}, "c-bad-priority": {5}},
			[]string{"c-good-1", "c-good-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			path := filepath.Join("testdata", tt.file)
			rep, err := Import(b.ctx, b.store, "default", []string{path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed != 3 || rep.Created != len(tt.good) {
				t.Errorf("Import(%s) counts = %+v, want 3 failed and %d created", tt.file, rep.Counts, len(tt.good))
			}
			got := map[string][]int{}
			for _, p := range rep.Errors {
				if p.File != path {
					t.Errorf("problem names file %q, want %q", p.File, path)
				}
				got[p.ExternalID] = append(got[p.ExternalID], p.Line)
			}
			for id, want := range tt.lines {
				if !slices.Equal(got[id], want) {
					t.Errorf("%s: problems at lines %v, want %v (all: %v)", id, got[id], want, rep.Errors)
				}
			}
			if len(got) != len(tt.lines) {
				t.Errorf("problems for %d records, want %d: %v", len(got), len(tt.lines), rep.Errors)
			}
			items, _, err := b.store.Items(b.ctx, "default", content.ItemFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, it := range items {
				ids = append(ids, it.ExternalID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tt.good) {
				t.Errorf("imported %v, want %v", ids, tt.good)
			}
		})
	}
}

func TestImportAllOrNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep, err := Import(b.ctx, b.store, "default", []string{"testdata"}, Options{AllOrNothing: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 9 || rep.Created+rep.Updated+rep.Unchanged != 0 || len(rep.Errors) < 9 {
		t.Errorf("Import(all or nothing) = %+v with %d errors, want 9 failed, nothing else", rep.Counts, len(rep.Errors))
	}
	if _, n, _ := b.store.Items(b.ctx, "default", content.ItemFilter{}); n != 0 {
		t.Errorf("%d items stored, want none", n)
	}
	if _, n, _ := b.store.Questions(b.ctx, "default", content.QuestionFilter{}); n != 0 {
		t.Errorf("%d questions stored, want none", n)
	}
}

func TestImportTrusted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep, err := Import(b.ctx, b.store, "default", []string{samples}, Options{Trusted: true, By: "samples"})
	if err != nil || !rep.OK() {
		t.Fatalf("Import(trusted) = %+v, %v", rep.Counts, err)
	}
	pub, err := b.store.Published(b.ctx, "default", content.Query{Group: "farmer", Town: "paitan", Topics: []string{"litchi"}})
	if err != nil || len(pub) == 0 {
		t.Fatalf("Published(farmer, paitan, litchi) = %d items, %v; want some", len(pub), err)
	}
	hist, err := b.store.History(b.ctx, "default", pub[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-1]; last.Action != content.ActionPublish || last.By != "samples" || last.Reason == "" {
		t.Errorf("history ends with %+v, want a trusted publish by samples", last)
	}
	events, n, err := b.store.Events(b.ctx, "default", content.StatusPublished, 0, 0)
	if err != nil || n != 4 || events[0].Code == "" {
		t.Errorf("published events = %d, %v; want 4 with codes", n, err)
	}
}

func TestImportFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, data string
		line       int
		msg        string
	}{
		// yaml.v3 reports a scanner error at the line of its context.
		{"syntax.yaml", "items:\n  - title: a\n\t- x\n", 2, "tab character"},
		{"list.yaml", "articles:\n  - title: a\n", 1, "unknown list"},
		{"notlist.yaml", "items: 3\n", 1, "must be a list"},
		{"syntax.json", "{\n \"items\": [\n  {\"title\": }\n ]\n}\n", 3, "invalid character"},
		{"column.csv", "external_id,colour\nx,red\n", 1, "unknown column"},
		{"notes.txt", "hello", 0, "not a .yaml"},
		{"dup.yaml", "items:\n  - {external_id: d, title: a, summary: b, url: 'https://x.org', source: s}\n  - {external_id: d, title: a, summary: b, url: 'https://x.org', source: s}\n", 3, "already used"},
	}
	b := setup(t)
	for _, tt := range tests {
		rep, err := Import(b.ctx, b.store, "files", []string{write(tt.name, tt.data)}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(rep.Errors) == 0 || rep.Errors[0].Line != tt.line || !strings.Contains(rep.Errors[0].Message, tt.msg) {
			t.Errorf("%s: problems %v, want line %d with %q", tt.name, rep.Errors, tt.line, tt.msg)
		}
	}
	if _, err := Import(b.ctx, b.store, "files", []string{filepath.Join(dir, "missing.yaml")}, Options{}); err == nil {
		t.Errorf("Import(missing path) error = nil")
	}
}
