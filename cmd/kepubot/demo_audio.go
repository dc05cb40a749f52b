package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/audio"
)

// demoRecordings uploads a short recording (an 8-second AMR file of
// silence frames: the demo has no voice actor) to every published item,
// through the admin API as an editor would, and returns how many.
func demoRecordings(ctx context.Context, app *App, base, token string) (int, error) {
	items, _, err := app.content.Items(ctx, app.cfg.WeChat.ID, content.ItemFilter{Status: content.StatusPublished})
	if err != nil {
		return 0, err
	}
	rec := audio.SilentAMR(8 * time.Second)
	for _, it := range items {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		fw, err := w.CreateFormFile("file", it.ID+".amr")
		if err != nil {
			return 0, err
		}
		fw.Write(rec)
		w.Close()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/items/"+it.ID+"/audio", &body)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("upload a recording to %s: %s", it.ID, resp.Status)
		}
	}
	return len(items), nil
}
