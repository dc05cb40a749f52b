package bot

import (
	"context"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// OfflineHandler answers a message when Redis cannot be reached (a
// failover, a restart), from memory only and writing nothing. The webhook
// uses it instead of answering 5xx, which WeChat shows as "该公众号暂时无法
// 提供服务" and retries three times into the same outage.
type OfflineHandler interface {
	Offline(ctx context.Context, req *Request) Reply
}

// Offline implements OfflineHandler. What needs no write is answered as
// usual: help, and a search of the in-memory library (for a stranger,
// since the profile cannot be read). Everything else (a command, an
// onboarding answer, a quiz answer, a sign-up) must write, so it gets a
// kind "please send it again in a few minutes" and nothing is recorded:
// no half-done sign-up, no quiz answer counted twice when it is sent again.
func (b *Bot) Offline(ctx context.Context, req *Request) Reply {
	if req.Profile == nil {
		req.Profile = &profile.Profile{OpenID: req.Msg.OpenID}
	}
	switch req.Msg.Type {
	case "event":
		if req.Msg.Event == "subscribe" {
			return Text(txtOfflineWelcome)
		}
		return Reply{}
	case "text":
	default:
		return Text(txtOffline)
	}
	text := strings.TrimSpace(req.Msg.Text)
	switch {
	case isWord(text, wordsHelp):
		return Text(txtHelp)
	case text == "" || b.mux.Routed(text):
		return Text(txtOffline)
	}
	if b.search != nil {
		if reply, err := b.search.Search(ctx, req); err == nil && !reply.Empty() {
			return reply
		}
	}
	return Text(txtOffline)
}
