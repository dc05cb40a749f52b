package wechattest

import (
	"slices"
	"time"
)

// ChatLine is one line of a subscriber's chat, as their phone shows it:
// what they sent or did, the webhook's immediate replies, and the
// messages pushed to them.
type ChatLine struct {
	Time     time.Time
	FromUser bool   // the subscriber sent or did this
	Channel  string // lines from the account: "reply" (the webhook's answer), or the push channel: custom, template, subscribe, mass
	Kind     string // text, news, event; a push's msgtype or template id
	Text     string
	Articles []Article
}

// noteChat records a line a Phone saw (a message or event it sent, or the
// webhook's reply).
func (s *Server) noteChat(appID, openID string, l ChatLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp(appID)
	if a.chat == nil {
		a.chat = map[string][]ChatLine{}
	}
	a.chat[openID] = append(a.chat[openID], l)
}

// NoteChat records a line of a chat held outside a Phone (a simulator
// that watches the webhook): what the user sent, or the reply they saw.
func (s *Server) NoteChat(appID, openID string, l ChatLine) { s.noteChat(appID, openID, l) }

// Chat returns openid's chat with the account in time order: what the
// Phone sent and was answered, merged with every message delivered to
// them through the API.
func (s *Server) Chat(appID, openID string) []ChatLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp(appID)
	lines := slices.Clone(a.chat[openID])
	for _, m := range a.delivered[openID] {
		l := ChatLine{Time: m.Time, Channel: m.Channel, Kind: m.Kind, Text: m.Content}
		if m.Kind == "news" || m.Kind == "mpnews" {
			l.Articles = []Article{{Title: m.Content}} // the fake keeps a news message's title
		}
		lines = append(lines, l)
	}
	// Stable: a reply recorded after its message keeps its place when both
	// carry the same second.
	slices.SortStableFunc(lines, func(x, y ChatLine) int { return x.Time.Compare(y.Time) })
	return lines
}

// eventText is how a phone shows an event its user caused.
func eventText(event, key string) string {
	switch event {
	case "subscribe":
		if key != "" {
			return "[扫码关注]"
		}
		return "[关注公众号]"
	case "unsubscribe":
		return "[取消关注]"
	case "SCAN":
		return "[扫描二维码]"
	case "CLICK":
		return "[点击菜单 " + key + "]"
	case "VIEW":
		return "[打开链接]"
	case "LOCATION":
		return "[发送位置]"
	}
	return "[" + event + "]"
}
