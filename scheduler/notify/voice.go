package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/wechat"
)

// VoiceSender is the part of WeChat's API voice messages need
// (*wechat.Client); a Sender without it sends no voice.
type VoiceSender interface {
	UploadVoice(ctx context.Context, name string, data []byte) (string, error)
	SendVoice(ctx context.Context, openID, mediaID string) error
}

// mediaKeep is how long an uploaded recording's media_id is used: less
// than WeChat keeps temporary media (3 days), so no send meets an expired
// one in the normal course; an expired one (40007) is dropped and
// uploaded again on the next batch.
const mediaKeep = wechat.MediaLife - 6*time.Hour

// VoiceMediaID returns account's WeChat media_id of the recording named
// key (a content hash), uploading it (name, data) when the account has
// none that is still valid. It returns "" without error when account
// cannot send voice.
func (n *Notifier) VoiceMediaID(ctx context.Context, account, key, name string, data func(context.Context) ([]byte, error)) (string, error) {
	sender, err := n.cfg.Sender(account)
	if err != nil {
		return "", nil
	}
	vs, ok := sender.(VoiceSender)
	if !ok {
		return "", nil
	}
	id, err := n.cfg.Redis.Get(ctx, mediaKey(account, key)).Result()
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("voice media %s: %w", key, err)
	}
	b, err := data(ctx)
	if err != nil {
		return "", err
	}
	if id, err = vs.UploadVoice(ctx, name, b); err != nil {
		return "", fmt.Errorf("upload voice %s: %w", key, err)
	}
	if err := n.cfg.Redis.Set(ctx, mediaKey(account, key), id, mediaKeep).Err(); err != nil {
		return "", fmt.Errorf("voice media %s: %w", key, err)
	}
	return id, nil
}

// sendVoice sends the voice part of s after its text went through, and
// reports whether it did. Its failure does not undo the text: it is
// logged by errcode, and an expired media_id is forgotten so the next
// batch uploads the recording again.
func (n *Notifier) sendVoice(ctx context.Context, account string, sender Sender, s Send) bool {
	vs, ok := sender.(VoiceSender)
	if !ok || s.Message.Voice == "" || s.Channel.String() != "custom" {
		return false
	}
	err := vs.SendVoice(ctx, s.Member.OpenID, s.Message.Voice)
	if err == nil {
		return true
	}
	code, _ := wechat.Code(err)
	n.log.Warn("voice message not sent", "account", account, "errcode", code, "class", wechat.Classify(err).String())
	if code == 40007 && s.Message.VoiceKey != "" {
		n.cfg.Redis.Del(context.WithoutCancel(ctx), mediaKey(account, s.Message.VoiceKey))
	}
	return false
}
