package wechat

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/basic"
)

// QR code limits.
const (
	MaxQRExpire   = 30 * 24 * time.Hour
	maxSceneChars = 64
)

// QRCode is a parametric QR code. Show it with
// https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=<Ticket>, or encode
// URL into a QR image yourself.
type QRCode struct {
	Ticket        string
	URL           string
	ExpireSeconds int // 0 for a permanent code
}

// CreateQRCode creates a QR code carrying scene (1–64 characters). A
// temporary code (QR_STR_SCENE) lives expire, at most 30 days; a permanent
// one (QR_LIMIT_STR_SCENE) counts against the account's 100,000.
func (c *Client) CreateQRCode(ctx context.Context, scene string, temporary bool, expire time.Duration) (QRCode, error) {
	if n := utf8.RuneCountInString(scene); n < 1 || n > maxSceneChars {
		return QRCode{}, fmt.Errorf("wechat create qrcode: scene must be 1-%d characters, got %d", maxSceneChars, n)
	}
	var req *basic.Request
	if temporary {
		if expire < time.Second || expire > MaxQRExpire {
			return QRCode{}, fmt.Errorf("wechat create qrcode: expire %v out of 1s-%v", expire, MaxQRExpire)
		}
		req = basic.NewTmpQrRequest(expire, scene)
	} else {
		req = basic.NewLimitQrRequest(scene)
	}
	var qr QRCode
	err := c.do(ctx, "qrcode_create", func(string) error {
		t, err := c.basic.GetQRTicket(req)
		if err != nil {
			return err
		}
		qr = QRCode{Ticket: t.Ticket, URL: t.URL, ExpireSeconds: int(t.ExpireSeconds)}
		return nil
	})
	return qr, err
}
