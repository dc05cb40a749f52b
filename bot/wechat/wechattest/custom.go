package wechattest

import (
	"encoding/json"
	"slices"
	"time"
)

const (
	msgWindow      = 48 * time.Hour
	msgWindowCount = 5
	evtWindow      = time.Minute
	evtWindowCount = 3
)

// Follow records that openid follows appID (a subscribe event).
func (s *Server) Follow(appID, openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp(appID)
	u := a.ensureUser(openID)
	if !u.following {
		u.following = true
		a.order = append(a.order, openID)
	}
}

// Unfollow records that openid stopped following appID.
func (s *Server) Unfollow(appID, openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp(appID)
	u := a.ensureUser(openID)
	if u.following {
		u.following = false
		a.order = slices.DeleteFunc(a.order, func(id string) bool { return id == openID })
	}
	u.msgWin, u.evtWin = window{}, window{}
}

// UserMessage records that openid sent appID a message now, which opens the
// 48-hour, 5-message customer-service window.
func (s *Server) UserMessage(appID, openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustApp(appID).ensureUser(openID)
	u.msgWin = window{until: s.now().Add(msgWindow), left: msgWindowCount}
}

// UserEvent records a follow, menu click or QR scan by openid now, which
// opens the 1-minute, 3-message customer-service window.
func (s *Server) UserEvent(appID, openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustApp(appID).ensureUser(openID)
	u.evtWin = window{until: s.now().Add(evtWindow), left: evtWindowCount}
}

// SubscribeOptIn records a one-time opt-in of openid to the subscribe
// notification templateID (the user accepted the popup).
func (s *Server) SubscribeOptIn(appID, openID, templateID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustApp(appID).ensureUser(openID).optIns[templateID]++
}

// Following reports whether openid currently follows appID.
func (s *Server) Following(appID, openID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustApp(appID).user(openID)
	return u != nil && u.following
}

type customBody struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	News *struct {
		Articles []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"articles"`
	} `json:"news"`
	MPNews *struct {
		MediaID string `json:"media_id"`
	} `json:"mpnews"`
	Image *struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
	Voice *struct {
		MediaID string `json:"media_id"`
	} `json:"voice"`
}

// handleCustomSend serves the customer-service API: only inside a window
// the user opened, each window with its own message count.
func (s *Server) handleCustomSend(q *request) result {
	var b customBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	var content, link string
	switch b.MsgType {
	case "text":
		if b.Text == nil || isBlank(b.Text.Content) {
			return fail(44004, "empty content")
		}
		content = b.Text.Content
	case "news":
		if b.News == nil || len(b.News.Articles) == 0 {
			return fail(44003, "empty news data")
		}
		if len(b.News.Articles) > 1 {
			// Since 2018 a customer-service news message carries one article.
			return fail(45008, "article size out of limit")
		}
		content, link = b.News.Articles[0].Title, b.News.Articles[0].URL
	case "mpnews":
		if b.MPNews == nil || b.MPNews.MediaID == "" {
			return fail(40007, "invalid media_id")
		}
		content = b.MPNews.MediaID
	case "image":
		if b.Image == nil || b.Image.MediaID == "" {
			return fail(40007, "invalid media_id")
		}
		content = b.Image.MediaID
	case "voice":
		if b.Voice == nil || !q.app.validMedia(b.Voice.MediaID, "voice", q.now) {
			return fail(40007, "invalid media_id")
		}
		content = b.Voice.MediaID
	default:
		return fail(40008, "invalid message type")
	}
	a := q.app
	u := a.user(b.ToUser)
	if u == nil {
		return fail(40003, "invalid openid")
	}
	if !u.following {
		return fail(45015, "response out of time limit or subscription is canceled")
	}
	// Spend from the window that closes first; the event window usually.
	var open []*window
	for _, w := range []*window{&u.evtWin, &u.msgWin} {
		if q.now.Before(w.until) {
			open = append(open, w)
		}
	}
	if len(open) == 0 {
		return fail(45015, "response out of time limit or subscription is canceled")
	}
	slices.SortFunc(open, func(x, y *window) int { return x.until.Compare(y.until) })
	var use *window
	for _, w := range open {
		if w.left > 0 {
			use = w
			break
		}
	}
	if use == nil {
		return fail(45047, "out of response count limit")
	}
	if !a.quota("custom", "day", 500000, q.now) {
		return fail(45009, "reach max api daily quota limit")
	}
	use.left--
	a.deliver(b.ToUser, Message{Channel: "custom", Kind: b.MsgType, Content: content, URL: link, Time: q.now})
	return okResult(nil)
}

// handleTemplateSend serves template messages: followers only, 100,000 a
// day, deduplicated by client_msg_id.
func (s *Server) handleTemplateSend(q *request) result {
	var b struct {
		ToUser      string                     `json:"touser"`
		TemplateID  string                     `json:"template_id"`
		URL         string                     `json:"url"`
		Data        map[string]json.RawMessage `json:"data"`
		ClientMsgID string                     `json:"client_msg_id"`
	}
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	if b.TemplateID == "" {
		return fail(40037, "invalid template_id")
	}
	a := q.app
	if b.ClientMsgID != "" {
		if id, ok := a.tplDedup[b.ClientMsgID]; ok {
			return okResult(map[string]any{"msgid": id})
		}
	}
	u := a.user(b.ToUser)
	if u == nil {
		return fail(40003, "invalid openid")
	}
	if !u.following {
		return fail(43004, "require subscribe")
	}
	if !a.quota("template", "day", 100000, q.now) {
		return fail(45009, "reach max api daily quota limit")
	}
	id := s.nextID()
	if b.ClientMsgID != "" {
		a.tplDedup[b.ClientMsgID] = id
	}
	data, _ := json.Marshal(b.Data)
	a.deliver(b.ToUser, Message{Channel: "template", Kind: b.TemplateID, Content: string(data), MsgID: id, Time: q.now})
	return okResult(map[string]any{"msgid": id})
}

// handleSubscribeSend serves subscribe notifications: each send consumes
// one opt-in of the user to that template.
func (s *Server) handleSubscribeSend(q *request) result {
	var b struct {
		ToUser     string                     `json:"touser"`
		TemplateID string                     `json:"template_id"`
		Page       string                     `json:"page"`
		Data       map[string]json.RawMessage `json:"data"`
	}
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	if b.TemplateID == "" {
		return fail(40037, "invalid template_id")
	}
	u := q.app.user(b.ToUser)
	if u == nil {
		return fail(40003, "invalid openid")
	}
	if u.optIns[b.TemplateID] == 0 {
		return fail(43101, "user refuse to accept the msg")
	}
	u.optIns[b.TemplateID]--
	data, _ := json.Marshal(b.Data)
	q.app.deliver(b.ToUser, Message{Channel: "subscribe", Kind: b.TemplateID, Content: string(data), Time: q.now})
	return okResult(nil)
}
