package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content"
)

// The item page's recording: the console shows the item's current voice
// recording (GET /api/v1/items/{id}/audio) and uploads a new one through
// POST /api/v1/items/{id}/audio, so the admin API alone reads the file and
// refuses what WeChat would refuse.

// audioView is an item's recording as the item page shows it.
type audioView struct {
	Format  string // "MP3" or "AMR"
	Seconds string // e.g. "8"
	Size    string // e.g. "12.5 KB"
}

// itemAudio returns the item's recording, nil when it has none.
func (c *Console) itemAudio(r *http.Request, s *Session, id string) (*audioView, error) {
	var a content.Audio
	err := c.call(r.Context(), s, http.MethodGet, "/api/v1/items/"+url.PathEscape(id)+"/audio", nil, &a)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &audioView{Format: strings.ToUpper(a.Format), Seconds: fmt.Sprintf("%.0f", a.Seconds),
		Size: fmt.Sprintf("%.1f KB", float64(a.Size)/1024)}, nil
}

// uploadAudio passes the form's file on to the admin API as its own
// multipart upload, then shows the item with the new recording, or with
// the API's Chinese reason for refusing the file.
func (c *Console) uploadAudio(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return c.showItem(w, r, s, id, http.StatusBadRequest, "请选择要上传的录音文件（MP3 或 AMR）")
	}
	defer f.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", hdr.Filename)
	if err != nil {
		return fmt.Errorf("console: recording form: %w", err)
	}
	if _, err := io.Copy(part, f); err != nil {
		return fmt.Errorf("console: read the recording: %w", err)
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("console: recording form: %w", err)
	}
	err = c.send(r.Context(), s, http.MethodPost, "/api/v1/items/"+url.PathEscape(id)+"/audio", mw.FormDataContentType(), &body, nil)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return apiFail(err)
	case errors.As(err, &ae) && ae.Fields["file"] != "":
		return c.showItem(w, r, s, id, ae.Status, ae.Fields["file"])
	case errors.As(err, &ae):
		status, msg := formMessage(err)
		return c.showItem(w, r, s, id, status, msg)
	case err != nil:
		return err
	}
	http.Redirect(w, r, "/console/items/"+url.PathEscape(id)+"#audio", http.StatusSeeOther)
	return nil
}
