package admin_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// amrFile is an AMR-NB recording of n 20 ms frames.
func amrFile(n int) []byte {
	b := []byte("#!AMR\n")
	for range n {
		b = append(b, 0x3c)
		b = append(b, make([]byte, 31)...)
	}
	return b
}

func (a *contentAPI) upload(path, token, field, name string, data []byte) (int, map[string]any) {
	a.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if field != "" {
		fw, _ := w.CreateFormFile(field, name)
		fw.Write(data)
	}
	w.Close()
	req, _ := http.NewRequestWithContext(a.t.Context(), "POST", a.url+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestItemAudioUpload(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	editor := api.user("录音编辑", "editor")
	viewer := api.user("只看", "viewer")
	it := api.must(http.StatusCreated, "POST", "/api/v1/items", editor, litchiItem())
	path := "/api/v1/items/" + it["id"].(string) + "/audio"
	for _, tc := range []struct {
		name, token, field, file string
		data                     []byte
		want                     int
		msg                      string
	}{
		{"no file", editor, "", "", nil, 400, "请选择"},
		{"not audio", editor, "file", "x.mp3", []byte("这不是录音文件，只是一段文字"), 400, "MP3 或 AMR"},
		{"too long", editor, "file", "long.amr", amrFile(3100), 400, "62 秒"},
		{"too large", editor, "file", "big.mp3", bytes.Repeat([]byte{0}, 3<<20), 400, "2 MB"},
		{"viewer", viewer, "file", "ok.amr", amrFile(500), 403, ""},
		{"unknown item", editor, "file", "ok.amr", amrFile(500), 404, ""},
	} {
		p := path
		if tc.name == "unknown item" {
			p = "/api/v1/items/it_999/audio"
		}
		code, out := api.upload(p, tc.token, tc.field, tc.file, tc.data)
		if code != tc.want || !strings.Contains(fmtFields(out), tc.msg) {
			t.Errorf("%s: POST audio = %d %v, want %d with %q", tc.name, code, out, tc.want, tc.msg)
		}
	}
	code, out := api.upload(path, editor, "file", "ok.amr", amrFile(500))
	if code != 200 || out["format"] != "amr" || out["seconds"] != 10.0 || out["sha256"] == "" {
		t.Fatalf("POST audio = %d %v, want 200 amr 10 s", code, out)
	}
}

func fmtFields(out map[string]any) string {
	b, _ := json.Marshal(out)
	return string(b)
}
