package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
)

// MediaLife is how long WeChat keeps a temporary media upload (3 days);
// its media_id is refused (40007) after that.
const MediaLife = 3 * 24 * time.Hour

type uploadAnswer struct {
	apiResult
	Type      string `json:"type"`
	MediaID   string `json:"media_id"`
	CreatedAt int64  `json:"created_at"`
}

// UploadVoice uploads a voice recording (mp3 or amr, at most 60 s and
// 2 MB) as temporary media and returns its media_id, valid MediaLife.
// name's extension tells WeChat the format.
func (c *Client) UploadVoice(ctx context.Context, name string, data []byte) (string, error) {
	if len(data) == 0 || name == "" {
		return "", errors.New("wechat upload voice: empty file or name")
	}
	var ans uploadAnswer
	err := c.do(ctx, "media_upload", func(tok string) error {
		ans = uploadAnswer{}
		uri := defaultBase + "/cgi-bin/media/upload?type=voice&access_token=" + url.QueryEscape(tok)
		raw, err := util.PostMultipartForm([]util.MultipartFormField{{IsFile: true, Fieldname: "media", Filename: name,
			FileReader: bytes.NewReader(data)}}, uri)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return fmt.Errorf("decode media_upload answer: %w", err)
		}
		return ans.result().err("media_upload")
	})
	if err != nil {
		return "", err
	}
	if ans.MediaID == "" {
		return "", errors.New("wechat upload voice: answer without media_id")
	}
	return ans.MediaID, nil
}

// SendVoice sends a customer-service voice message of an uploaded
// recording (40007 when its media_id expired).
func (c *Client) SendVoice(ctx context.Context, openID, mediaID string) error {
	if openID == "" || mediaID == "" {
		return errors.New("wechat send voice: empty openid or media_id")
	}
	return c.do(ctx, "custom_send", func(string) error {
		return c.custom.Send(message.NewCustomerVoiceMessage(openID, mediaID))
	})
}
