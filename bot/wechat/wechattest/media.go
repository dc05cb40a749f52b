package wechattest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"time"
)

// Temporary media (POST /cgi-bin/media/upload?type=voice|image|video|thumb):
// WeChat keeps an upload 3 days; after that its media_id is 40007.
const mediaLife = 3 * 24 * time.Hour

// maxVoiceBytes is WeChat's limit of a voice upload (2 MB; mp3, wma, wav
// or amr, at most 60 s).
const maxVoiceBytes = 2 << 20

type media struct {
	kind    string
	created time.Time
	size    int
}

// handleMediaUpload serves a temporary media upload: a multipart form
// whose "media" part is the file.
func (s *Server) handleMediaUpload(q *request) result {
	kind := q.r.URL.Query().Get("type")
	switch kind {
	case "voice", "image", "video", "thumb":
	default:
		return fail(40004, "invalid media type")
	}
	_, params, err := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return fail(41005, "media data missing")
	}
	mr := multipart.NewReader(bytes.NewReader(q.body), params["boundary"])
	var data []byte
	var name string
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		if part.FormName() == "media" {
			data, _ = io.ReadAll(part)
			name = part.FileName()
		}
	}
	if len(data) == 0 {
		return fail(41005, "media data missing")
	}
	if kind == "voice" {
		ext := strings.ToLower(name[strings.LastIndex(name, ".")+1:])
		switch {
		case len(data) > maxVoiceBytes:
			return fail(40006, "invalid meida size")
		case ext != "mp3" && ext != "amr" && ext != "wma" && ext != "wav":
			return fail(40005, "invalid file type")
		}
	}
	a := q.app
	if a.media == nil {
		a.media = map[string]media{}
	}
	id := "mv" + strconv.FormatInt(s.nextID(), 36) + "_" + a.acct.AppID
	a.media[id] = media{kind: kind, created: q.now, size: len(data)}
	return okResult(map[string]any{"type": kind, "media_id": id, "created_at": q.now.Unix()})
}

// validMedia reports whether id is a temporary media of kind still kept.
func (a *app) validMedia(id, kind string, now time.Time) bool {
	m, ok := a.media[id]
	return ok && m.kind == kind && now.Before(m.created.Add(mediaLife))
}

// Uploads counts the temporary media appID uploaded.
func (s *Server) Uploads(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mustApp(appID).media)
}
