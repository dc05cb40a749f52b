package quiz

import (
	"context"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// TestStartJoinsAnAttemptNeverAnswered: a 答题 whose attempt was claimed
// but whose first question never reached the participant (on a Cluster,
// the claim is written and the dialog, on another master, is not; the
// participant is told to send it again, minutes later) gets that attempt
// back instead of using up another. Once the attempt was answered, a new
// 答题 starts the next one, and none is left after the last.
func TestStartJoinsAnAttemptNeverAnswered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewStore(redistest.Start(t))
	at := time.Date(2027, 9, 20, 9, 0, 0, 0, time.UTC)
	start := func(msg string, after time.Duration) (int, bool) {
		t.Helper()
		n, ok, err := s.startAttempt(ctx, "acct", "c_1", "oP", msg, 2, "paitan", "farmer", at.Add(after))
		if err != nil {
			t.Fatal(err)
		}
		return n, ok
	}
	if n, ok := start("m1", 0); !ok || n != 1 {
		t.Fatalf("first 答题 = attempt %d, %v; want 1", n, ok)
	}
	// Sent again 5 minutes later, as the "please send it again" reply asks.
	if n, ok := start("m2", 5*time.Minute); !ok || n != 1 {
		t.Fatalf("答题 again after a lost first question = attempt %d, %v; want 1 again", n, ok)
	}
	if err := s.answered(ctx, "acct", "c_1", "oP", 1); err != nil {
		t.Fatal(err)
	}
	if n, ok := start("m4", 10*time.Minute); !ok || n != 2 {
		t.Fatalf("答题 after answering attempt 1 = attempt %d, %v; want 2", n, ok)
	}
	if err := s.answered(ctx, "acct", "c_1", "oP", 2); err != nil {
		t.Fatal(err)
	}
	if n, ok := start("m5", 20*time.Minute); ok || n != 2 {
		t.Errorf("答题 with both attempts answered = attempt %d, %v; want none left (2, false)", n, ok)
	}
	// The same message always gets its own attempt back.
	if n, ok := start("m4", 21*time.Minute); !ok || n != 2 {
		t.Errorf("retry of m4 = attempt %d, %v; want 2", n, ok)
	}
}
