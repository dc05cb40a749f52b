package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The event page's buttons: the venue check-in code, a notice campaign,
// rescheduled reminders. Each goes through the admin API.

// eventQR is an event's venue check-in code.
type eventQR struct {
	Ticket    string    `json:"ticket"`
	URL       string    `json:"url"`
	Temporary bool      `json:"temporary"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Image is where WeChat serves the code as a picture to print.
func (q eventQR) Image() string {
	return "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=" + url.QueryEscape(q.Ticket)
}

// eventQRCode shows the event page with its check-in QR code (created on
// first use; it needs the WeChat API).
func (c *Console) eventQRCode(w http.ResponseWriter, r *http.Request, s *Session) error {
	var qr eventQR
	path := "/api/v1/events/" + url.PathEscape(r.PathValue("id")) + "/qrcode"
	if err := c.call(r.Context(), s, http.MethodGet, path, nil, &qr); err != nil {
		if _, ok := err.(*apiError); !ok {
			return err
		}
		status, msg := userMessage(err)
		return c.showEvent(w, r, s, status, "签到二维码暂时无法生成："+msg)
	}
	return c.showEvent(w, r, s, http.StatusOK, "", func(v *eventView) { v.QR = &qr })
}

// eventNotice sends a notice campaign about the event to its audience and
// opens that campaign.
func (c *Console) eventNotice(w http.ResponseWriter, r *http.Request, s *Session) error {
	var created struct {
		ID string `json:"id"`
	}
	path := "/api/v1/events/" + url.PathEscape(r.PathValue("id")) + "/notice"
	body := map[string]any{"url": strings.TrimSpace(r.PostFormValue("url"))}
	if err := c.call(r.Context(), s, http.MethodPost, path, body, &created); err != nil {
		if _, ok := err.(*apiError); !ok {
			return err
		}
		status, msg := userMessage(err)
		return c.showEvent(w, r, s, status, "活动通知没有创建："+msg)
	}
	http.Redirect(w, r, "/console/campaigns/"+url.PathEscape(created.ID), http.StatusSeeOther)
	return nil
}

// eventReminders (re)schedules the event's reminders, after it moved.
func (c *Console) eventReminders(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	path := "/api/v1/events/" + url.PathEscape(id) + "/reminders"
	if err := c.call(r.Context(), s, http.MethodPost, path, map[string]any{}, nil); err != nil {
		if _, ok := err.(*apiError); !ok {
			return err
		}
		status, msg := userMessage(err)
		return c.showEvent(w, r, s, status, "提醒没有安排："+msg)
	}
	http.Redirect(w, r, "/console/events/"+url.PathEscape(id)+"?done=reminders", http.StatusSeeOther)
	return nil
}
