package admin

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// QRCreator creates parametric QR codes through WeChat (*wechat.Client).
type QRCreator interface {
	CreateQRCode(ctx context.Context, scene string, temporary bool, expire time.Duration) (wechat.QRCode, error)
}

// QRCodeDeps is what the QR code routes need.
type QRCodeDeps struct {
	Scenes *qrcode.Store
	Tax    *taxonomy.Taxonomy
	// WeChat returns the API client of an account, or an error
	// (ErrNotFound, ErrUnavailable) when there is none.
	WeChat func(account string) (QRCreator, error)
	Now    func() time.Time
}

// qrRequest is the body of POST /api/v1/qrcodes (contract).
type qrRequest struct {
	Group     string   `json:"group"`
	Town      string   `json:"town"`
	Interests []string `json:"interests"`
	Source    string   `json:"source"`
	Temporary bool     `json:"temporary"`
	// Elder turns elder mode (长辈模式) on for whoever follows or scans.
	Elder bool `json:"elder"`
	// ExpireDays bounds a temporary code's life (1-30, default 30).
	ExpireDays int `json:"expire_days"`
}

var sourceRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

// RegisterQRCodes adds POST /api/v1/qrcodes: a parametric QR code whose
// scene profiles whoever follows or scans through it.
func RegisterQRCodes(s *Server, d QRCodeDeps) {
	s.Handle("POST /api/v1/qrcodes", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var req qrRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if err := req.validate(d.Tax); err != nil {
			return nil, err
		}
		client, err := d.WeChat(Account(r))
		if err != nil {
			return nil, err
		}
		sc := qrcode.Scene{
			Scene: qrcode.NewSceneID(), Group: req.Group, Town: req.Town, Interests: req.Interests,
			Source: req.Source, Elder: req.Elder, Temporary: req.Temporary, CreatedAt: d.Now().UTC(),
		}
		expire := time.Duration(req.ExpireDays) * 24 * time.Hour
		if req.Temporary {
			if expire == 0 {
				expire = 30 * 24 * time.Hour
			}
			sc.ExpiresAt = sc.CreatedAt.Add(expire)
		}
		// Save the scene first: a follow through the code may arrive the
		// moment WeChat has made it.
		if err := d.Scenes.Save(r.Context(), Account(r), sc); err != nil {
			return nil, err
		}
		qr, err := client.CreateQRCode(r.Context(), sc.Scene, req.Temporary, expire)
		if err != nil {
			return nil, &StatusError{Status: http.StatusBadGateway, Err: fmt.Errorf("wechat: create qr code: %w", err)}
		}
		sc.Ticket, sc.URL = qr.Ticket, qr.URL
		if err := d.Scenes.Save(r.Context(), Account(r), sc); err != nil {
			return nil, err
		}
		return Created{map[string]any{"scene": sc.Scene, "ticket": qr.Ticket, "url": qr.URL,
			"temporary": sc.Temporary, "expires_at": sc.ExpiresAt}}, nil
	}, RoleOrganizer)
}

func (q *qrRequest) validate(tax *taxonomy.Taxonomy) error {
	fields := map[string]string{}
	if _, ok := tax.Group(q.Group); q.Group != "" && !ok {
		fields["group"] = fmt.Sprintf("unknown group %q", q.Group)
	}
	if _, ok := tax.Town(q.Town); q.Town != "" && !ok {
		fields["town"] = fmt.Sprintf("unknown town %q", q.Town)
	}
	for _, t := range q.Interests {
		if _, ok := tax.Topic(t); !ok {
			fields["interests"] = fmt.Sprintf("unknown topic %q", t)
		}
	}
	if q.Source != "" && !sourceRE.MatchString(q.Source) {
		fields["source"] = "1-40 of letters, digits, _ . and -"
	}
	if q.ExpireDays < 0 || q.ExpireDays > 30 || (q.ExpireDays > 0 && !q.Temporary) {
		fields["expire_days"] = "1-30, for temporary codes only"
	}
	if len(fields) > 0 {
		return Invalid(fields, "invalid qr code request")
	}
	return nil
}
