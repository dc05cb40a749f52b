package notify_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
)

// voiceSender is the scripted WeChat with temporary media: each upload
// takes a while (as a 60-second recording does) and is counted.
type voiceSender struct {
	*sender
	uploads atomic.Int64
}

func (s *voiceSender) UploadVoice(ctx context.Context, name string, _ []byte) (string, error) {
	n := s.uploads.Add(1)
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(150 * time.Millisecond):
	}
	return fmt.Sprintf("media-%s-%d", name, n), nil
}

func (s *voiceSender) SendVoice(context.Context, string, string) error { return nil }

// TestVoiceUploadedOnceAcrossReplicas: when a recording's cached media_id
// is missing (first use, or expired after three days), the chunks running
// on every replica at that moment need it at once: one uploads, the
// others wait for its media_id.
func TestVoiceUploadedOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Start(t)
	ps, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	vs := &voiceSender{sender: newSender()}
	var replicas []*notify.Notifier
	for range 4 {
		n, err := notify.New(notify.Config{Redis: rdb, Profiles: ps, Sender: func(string) (notify.Sender, error) { return vs, nil }})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, n)
	}
	var loads atomic.Int64
	data := func(context.Context) ([]byte, error) { loads.Add(1); return []byte("#!AMR\n"), nil }
	storm := func() map[string]int {
		var mu sync.Mutex
		ids := map[string]int{}
		var wg sync.WaitGroup
		for _, n := range replicas {
			for range 8 { // workers of each replica
				wg.Go(func() {
					id, err := n.VoiceMediaID(ctx, "default", "sha-1", "it1.amr", data)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					ids[id]++
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		return ids
	}
	if ids := storm(); vs.uploads.Load() != 1 || len(ids) != 1 || ids[""] != 0 {
		t.Fatalf("first use: %d uploads, media ids %v; want one upload, one id for all 32", vs.uploads.Load(), ids)
	}
	// The media_id expires: the next storm uploads once more.
	if err := rdb.Del(ctx, "kb:{default:notify}:media:sha-1").Err(); err != nil {
		t.Fatal(err)
	}
	if ids := storm(); vs.uploads.Load() != 2 || len(ids) != 1 || ids[""] != 0 {
		t.Fatalf("after expiry: %d uploads in all, media ids %v; want two, one id for all 32", vs.uploads.Load(), ids)
	}
	if loads.Load() != 2 {
		t.Errorf("the recording was read %d times, want once per upload", loads.Load())
	}
}
