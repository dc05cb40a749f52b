package console

import (
	"errors"
	"net/http"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// userRow is one admin API user on the users page.
type userRow struct {
	admin.User
	HasPassword bool
}

type usersView struct {
	Users []userRow
	Done  string // the user whose password was just set
}

// usersPage lists the admin API's users with a form to set each one's
// console password (admins only; users are created in the admin API).
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.showUsers(w, r, s, http.StatusOK, "", "")
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, s *Session, status int, done, msg string) error {
	users, err := c.cfg.Users.List(r.Context())
	if err != nil {
		return err
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	has, err := c.acc.HasPassword(r.Context(), ids...)
	if err != nil {
		return err
	}
	rows := make([]userRow, len(users))
	for i, u := range users {
		rows[i] = userRow{User: u, HasPassword: has[i]}
	}
	c.render(w, status, "users.html", view{Title: "用户", Session: s, Error: msg, Data: usersView{Users: rows, Done: done}})
	return nil
}

func (c *Console) passwordSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	err := c.SetPassword(r.Context(), id, r.PostForm.Get("password"))
	var pe *PasswordError
	switch {
	case errors.As(err, &pe):
		return c.showUsers(w, r, s, http.StatusBadRequest, "", pe.Msg)
	case errors.Is(err, ErrNameTaken):
		return c.showUsers(w, r, s, http.StatusConflict, "", "已有同名用户使用控制台，请先在管理接口中为其改名")
	case errors.Is(err, ErrUnknownUser):
		return &statusError{status: http.StatusNotFound, msg: "用户不存在"}
	case err != nil:
		return err
	}
	return c.showUsers(w, r, s, http.StatusOK, id, "")
}

// auditPage shows the newest audit log entries (admins only).
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	entries, err := c.cfg.Audit.Recent(r.Context(), 200)
	if err != nil {
		return err
	}
	rows := make([]auditRow, len(entries))
	for i, e := range entries {
		rows[i] = auditRow{AuditRecord: e, Action: auditAction(e.Method, e.Path), OK: e.Status < 400}
	}
	c.render(w, http.StatusOK, "audit.html", view{Title: "审计日志", Session: s, Data: mergeAudit(rows)})
	return nil
}
