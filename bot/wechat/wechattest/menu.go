package wechattest

import (
	"encoding/json"
)

const (
	menuMaxTop     = 3
	menuMaxSub     = 5
	menuTopNameLen = 16 // bytes
	menuSubNameLen = 60 // bytes
	menuKeyLen     = 128
	menuURLLen     = 1024
	clearQuotaMax  = 10 // per month
)

// menuButton is a button as WeChat's menu API spells it.
type menuButton struct {
	Type      string       `json:"type,omitempty"`
	Name      string       `json:"name"`
	Key       string       `json:"key,omitempty"`
	URL       string       `json:"url,omitempty"`
	MediaID   string       `json:"media_id,omitempty"`
	AppID     string       `json:"appid,omitempty"`
	PagePath  string       `json:"pagepath,omitempty"`
	SubButton []menuButton `json:"sub_button,omitempty"`
}

// MenuButton is a published menu button, as returned by Menu.
type MenuButton struct {
	Type, Name, Key, URL string
	Sub                  []MenuButton
}

// Menu returns the published menu of appID; nil when there is none.
func (s *Server) Menu(appID string) []MenuButton {
	s.mu.Lock()
	raw := s.mustApp(appID).menu
	s.mu.Unlock()
	if raw == nil {
		return nil
	}
	var m struct {
		Button []menuButton `json:"button"`
	}
	_ = json.Unmarshal(raw, &m)
	var conv func([]menuButton) []MenuButton
	conv = func(bs []menuButton) []MenuButton {
		var out []MenuButton
		for _, b := range bs {
			out = append(out, MenuButton{Type: b.Type, Name: b.Name, Key: b.Key, URL: b.URL, Sub: conv(b.SubButton)})
		}
		return out
	}
	return conv(m.Button)
}

// keyed lists the button types that need a key.
var keyed = map[string]bool{
	"click": true, "scancode_push": true, "scancode_waitmsg": true, "pic_sysphoto": true,
	"pic_photo_or_album": true, "pic_weixin": true, "location_select": true,
}

// menuCodes are the errcodes WeChat uses for one level of buttons.
type menuCodes struct{ name, typ, key, url int }

var (
	topCodes = menuCodes{name: 40018, typ: 40017, key: 40019, url: 40055}
	subCodes = menuCodes{name: 40025, typ: 40024, key: 40026, url: 40054}
)

// checkButton validates a leaf button (or, for top buttons, the name of a
// parent).
func checkButton(b menuButton, maxName int, c menuCodes) (result, bool) {
	if isBlank(b.Name) || len(b.Name) > maxName {
		return fail(c.name, "invalid button name size"), false
	}
	switch {
	case keyed[b.Type]:
		if b.Key == "" || len(b.Key) > menuKeyLen {
			return fail(c.key, "invalid button key size"), false
		}
	case b.Type == "view":
		if b.URL == "" || len(b.URL) > menuURLLen {
			// unsure: WeChat's code for a missing url is not documented.
			return fail(c.url, "invalid button url domain"), false
		}
	case b.Type == "miniprogram":
		if b.AppID == "" || b.PagePath == "" || b.URL == "" {
			return fail(c.typ, "invalid button type: miniprogram needs appid, pagepath and url"), false
		}
	case b.Type == "media_id", b.Type == "article_id", b.Type == "article_view_limited":
		if b.MediaID == "" {
			return fail(40007, "invalid media_id"), false
		}
	default:
		return fail(c.typ, "invalid button type"), false
	}
	return result{}, true
}

func (s *Server) handleMenuCreate(q *request) result {
	var m struct {
		Button []menuButton `json:"button"`
	}
	if err := q.decode(&m); err != nil {
		return badBody(err)
	}
	if len(m.Button) < 1 || len(m.Button) > menuMaxTop {
		return fail(40016, "invalid button size")
	}
	for _, b := range m.Button {
		if len(b.SubButton) == 0 {
			if res, ok := checkButton(b, menuTopNameLen, topCodes); !ok {
				return res
			}
			continue
		}
		if isBlank(b.Name) || len(b.Name) > menuTopNameLen {
			return fail(topCodes.name, "invalid button name size")
		}
		if len(b.SubButton) > menuMaxSub {
			return fail(40023, "invalid sub button size")
		}
		for _, sb := range b.SubButton {
			if len(sb.SubButton) > 0 {
				return fail(40024, "invalid sub button type: menus have two levels")
			}
			if res, ok := checkButton(sb, menuSubNameLen, subCodes); !ok {
				return res
			}
		}
	}
	raw, _ := json.Marshal(m)
	q.app.menu = raw
	return okResult(nil)
}

func (s *Server) handleMenuGet(q *request) result {
	if q.app.menu == nil {
		return fail(46003, "menu no exist")
	}
	return result{body: map[string]any{"menu": json.RawMessage(q.app.menu)}}
}

func (s *Server) handleMenuDelete(q *request) result {
	q.app.menu = nil
	return okResult(nil)
}

// handleClearQuota resets the daily API quotas of the account, at most 10
// times a calendar month.
func (s *Server) handleClearQuota(q *request) result {
	var b struct {
		AppID string `json:"appid"`
	}
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	a := q.app
	if b.AppID != a.acct.AppID {
		return fail(40013, "invalid appid")
	}
	if !a.quota("clear_quota", "month", clearQuotaMax, q.now) {
		return fail(48006, "forbid to clear quota because of reaching the limit")
	}
	for k := range a.counters {
		if len(k) > 4 && k[:4] == "day|" {
			delete(a.counters, k)
		}
	}
	return okResult(nil)
}
