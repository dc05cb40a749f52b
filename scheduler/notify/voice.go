package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
//
// One upload per recording and account, across every replica: when the
// cached media_id expires (every mediaKeep), the chunks then running on
// all replicas would each upload it again at once; instead one takes a
// lock in Redis and uploads, the others wait for its media_id (and send
// without voice if it does not come within voiceWait). Uploads also wait
// for the account's upload rate (Limits.Upload).
func (n *Notifier) VoiceMediaID(ctx context.Context, account, key, name string, data func(context.Context) ([]byte, error)) (string, error) {
	sender, err := n.cfg.Sender(account)
	if err != nil {
		return "", nil
	}
	vs, ok := sender.(VoiceSender)
	if !ok {
		return "", nil
	}
	rdb := n.cfg.Redis
	deadline := time.Now().Add(voiceWait)
	for pause := 20 * time.Millisecond; ; pause = min(2*pause, 500*time.Millisecond) {
		id, err := rdb.Get(ctx, mediaKey(account, key)).Result()
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("voice media %s: %w", key, err)
		}
		owner := strconv.FormatInt(time.Now().UnixNano(), 36)
		took, err := rdb.SetNX(ctx, mediaLockKey(account, key), owner, uploadLease).Result()
		if err != nil {
			return "", fmt.Errorf("voice media %s: %w", key, err)
		}
		if took {
			id, err := n.upload(ctx, vs, account, key, name, data)
			unlockScript.Run(context.WithoutCancel(ctx), rdb, []string{mediaLockKey(account, key)}, owner)
			return id, err
		}
		if time.Now().After(deadline) {
			n.log.Warn("voice media upload by another run did not finish in time: sending without voice", "account", account, "key", key)
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(pause):
		}
	}
}

// upload uploads a recording under the lock and caches its media_id.
func (n *Notifier) upload(ctx context.Context, vs VoiceSender, account, key, name string, data func(context.Context) ([]byte, error)) (string, error) {
	if id, err := n.cfg.Redis.Get(ctx, mediaKey(account, key)).Result(); err == nil {
		return id, nil // cached by the lock's previous holder meanwhile
	}
	b, err := data(ctx)
	if err != nil {
		return "", err
	}
	if err := n.wait(ctx, "upload:"+account, n.cfg.Limits.Upload, 1); err != nil {
		return "", err
	}
	id, err := vs.UploadVoice(ctx, name, b)
	if err != nil {
		return "", fmt.Errorf("upload voice %s: %w", key, err)
	}
	if err := n.cfg.Redis.Set(ctx, mediaKey(account, key), id, mediaKeep).Err(); err != nil {
		return "", fmt.Errorf("voice media %s: %w", key, err)
	}
	return id, nil
}

// uploadLease bounds how long a run holds a recording's upload lock (a run
// that dies holding it delays the others that long at most); voiceWait is
// how long the others wait for its media_id.
const (
	uploadLease = 30 * time.Second
	voiceWait   = 20 * time.Second
)

// unlockScript releases a lock only when its value is still the owner's.
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// VoicedIndex names the bitmap (profile shards) of subscribers sent a
// voice message on t's calendar day (in t's location): at most one a day
// each (the campaign engine claims it before adding a recording).
func VoicedIndex(t time.Time) string { return "voiced:" + t.Format("20060102") }

// VoicedTTL is how long a day's VoicedIndex is kept.
const VoicedTTL = 48 * time.Hour

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
