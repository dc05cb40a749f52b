package content

import (
	"context"
	"testing"
	"time"
)

// Every change to an account's published library moves its version and
// is announced with the account's id; changes to drafts are not, and
// another account's version does not move.
func TestLibraryChangesAnnounced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	heard := make(chan string, 16)
	listening := make(chan struct{})
	go b.store.WatchLibrary(ctx, func() { close(listening) }, func(account string) { heard <- account })
	<-listening

	version := func(account string) int64 {
		t.Helper()
		v, err := b.store.LibraryVersion(b.ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	expect := func(step string, want bool) {
		t.Helper()
		select {
		case got := <-heard:
			if !want || got != b.acct {
				t.Errorf("%s: announced %q, want nothing", step, got)
			}
		case <-time.After(200 * time.Millisecond):
			if want {
				t.Errorf("%s: nothing announced, want %q", step, b.acct)
			}
		}
	}
	draft, err := b.store.CreateItem(b.ctx, b.acct, goodItem(), "u_1")
	if err != nil {
		t.Fatal(err)
	}
	expect("create a draft", false)
	if v := version(b.acct); v != 0 {
		t.Errorf("version after a draft = %d, want 0", v)
	}
	b.store.Transition(b.ctx, b.acct, draft.ID, ActionSubmit, "u_1", "")
	b.store.Transition(b.ctx, b.acct, draft.ID, ActionApprove, "u_2", "")
	expect("submit and approve", false)
	if _, err := b.store.Transition(b.ctx, b.acct, draft.ID, ActionPublish, "u_2", ""); err != nil {
		t.Fatal(err)
	}
	expect("publish", true)
	published := version(b.acct)
	edit := goodItem()
	edit.Title = "荔枝花期管理要点（修订）"
	if _, _, err := b.store.UpdateItem(b.ctx, b.acct, draft.ID, edit, "u_1"); err != nil {
		t.Fatal(err)
	}
	expect("edit the published item", true)
	if v := version(b.acct); v <= published {
		t.Errorf("version after an edit = %d, want more than %d", v, published)
	}
	if v := version("other"); v != 0 {
		t.Errorf("another account's version = %d, want 0", v)
	}
}
