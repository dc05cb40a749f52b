package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/zengcheng-kexie/kepubot/content/audio"
)

// registerItemAudio adds POST /api/v1/items/{id}/audio (contract): a
// multipart upload (part "file") of the item's voice recording. The file's
// own frames say its format and duration; what WeChat would refuse (not
// MP3 or AMR, over 60 s or 2 MB) is refused here, in Chinese, and changes
// nothing. GET /api/v1/items/{id}/audio says what recording the item has
// (format, seconds, size), 404 when none.
func registerItemAudio(s *Server, d ContentDeps) {
	s.Handle("GET /api/v1/items/{id}/audio", func(_ http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		a, err := d.Store.ItemAudio(r.Context(), Account(r), r.PathValue("id"))
		if err != nil {
			return nil, contentError(err)
		}
		return a, nil
	}, Roles()...)
	s.Handle("POST /api/v1/items/{id}/audio", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		r.Body = http.MaxBytesReader(w, r.Body, audio.MaxBytes+64<<10)
		f, _, err := r.FormFile("file")
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return nil, audioInvalid(audio.ErrTooLarge, 0)
		case err != nil:
			return nil, Invalid(map[string]string{"file": "请选择要上传的录音文件（MP3 或 AMR）"}, "multipart part \"file\" is required")
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, audio.MaxBytes+1))
		if err != nil {
			return nil, err
		}
		info, err := audio.Inspect(data)
		if err != nil {
			return nil, audioInvalid(err, info.Duration.Seconds())
		}
		a, err := d.Store.SetAudio(r.Context(), Account(r), r.PathValue("id"), info.Format, info.Duration, data)
		if err != nil {
			return nil, contentError(err)
		}
		return a, nil
	}, RoleEditor)
}

// audioInvalid words a refused recording for the editor.
func audioInvalid(err error, seconds float64) error {
	msg := "只能上传 MP3 或 AMR 格式的录音，这个文件读不出来"
	switch {
	case errors.Is(err, audio.ErrTooLong):
		msg = fmt.Sprintf("录音不能超过 60 秒，这段有 %.0f 秒，请剪短后再传", seconds)
	case errors.Is(err, audio.ErrTooLarge):
		msg = "录音文件不能超过 2 MB"
	case errors.Is(err, audio.ErrEmpty):
		msg = "这个录音里没有声音"
	}
	return &InvalidError{Msg: err.Error(), Fields: map[string]string{"file": msg}, Err: err}
}
