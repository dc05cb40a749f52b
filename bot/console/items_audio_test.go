package console

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content/audio"
)

// TestItemAudioUpload: the item page's form uploads a recording through
// the admin API; the page then shows it; files the API refuses are
// refused with its Chinese reason and change nothing; a viewer has no form
// and may not post one.
func TestItemAudioUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	editor, etok := b.loggedIn(t, admin.RoleEditor)
	viewer, vtok := b.loggedIn(t, admin.RoleViewer)
	r := editor.do("POST", "/console/items", litchiForm(etok))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create item = %d, want 303:\n%s", r.StatusCode, r.body)
	}
	path := r.Header.Get("Location")
	if page := editor.do("GET", path, nil); !strings.Contains(page.body, `enctype="multipart/form-data"`) || !strings.Contains(page.body, "还没有录音") {
		t.Fatalf("the item page lacks the upload form or says it has a recording:\n%s", page.body)
	}

	tests := []struct {
		name     string
		file     string
		data     []byte
		csrf     string
		want     int
		wantText string
	}{
		{"not audio", "x.mp3", []byte("这不是录音文件，只是一段文字"), etok, http.StatusBadRequest, "只能上传 MP3 或 AMR"},
		{"too long", "long.amr", audio.SilentAMR(61 * time.Second), etok, http.StatusBadRequest, "录音不能超过 60 秒"},
		{"no csrf", "ok.amr", audio.SilentAMR(8 * time.Second), "", http.StatusForbidden, "请求已过期"},
	}
	for _, tc := range tests {
		got := editor.upload(path+"/audio", tc.csrf, tc.file, tc.data)
		if got.StatusCode != tc.want || !strings.Contains(got.body, tc.wantText) {
			t.Errorf("%s: upload = %d, want %d with %q:\n%s", tc.name, got.StatusCode, tc.want, tc.wantText, got.body)
		}
	}
	if page := editor.do("GET", path, nil); !strings.Contains(page.body, "还没有录音") {
		t.Fatalf("a refused upload changed the item's recording:\n%s", page.body)
	}
	if got := viewer.upload(path+"/audio", vtok, "ok.amr", audio.SilentAMR(8*time.Second)); got.StatusCode != http.StatusForbidden {
		t.Errorf("viewer upload = %d, want 403", got.StatusCode)
	}

	got := editor.upload(path+"/audio", etok, "ok.amr", audio.SilentAMR(8*time.Second))
	if got.StatusCode != http.StatusSeeOther || got.Header.Get("Location") != path+"#audio" {
		t.Fatalf("upload = %d %q, want 303 to %s#audio:\n%s", got.StatusCode, got.Header.Get("Location"), path, got.body)
	}
	if page := editor.do("GET", path, nil); !strings.Contains(page.body, "AMR 格式，8 秒") || !strings.Contains(page.body, "换一段录音") {
		t.Errorf("the item page does not show the 8-second AMR recording:\n%s", page.body)
	}
	if page := viewer.do("GET", path, nil); !strings.Contains(page.body, "AMR 格式，8 秒") || strings.Contains(page.body, `enctype="multipart/form-data"`) {
		t.Errorf("a viewer sees no recording or an upload form:\n%s", page.body)
	}
}
