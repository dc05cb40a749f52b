package console

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// loginView is the login form's data.
type loginView struct {
	Name string
	CSRF string
}

// loginPage shows the login form with a fresh login CSRF token, kept in a
// cookie and echoed by the form (double submit): a page on another site
// cannot log a browser in to an account of its choosing.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	if s, err := c.sessionOf(r); err == nil && s != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.showLogin(w, http.StatusOK, "", "")
}

func (c *Console) showLogin(w http.ResponseWriter, status int, name, msg string) {
	token, err := randomToken()
	if err != nil {
		c.logger.Error("console login token failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.setCookie(w, loginCookie, token, 3600)
	c.render(w, status, "login.html", view{Title: "登录", Error: msg, Data: loginView{Name: name, CSRF: token}})
}

func (c *Console) loginSubmit(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	status := http.StatusSeeOther
	who := &Session{}
	defer func() { c.audit(r, who, status) }()
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ck, err := r.Cookie(loginCookie)
	if err := r.ParseForm(); err != nil || ck == nil || !equalTokens(r.PostForm.Get("csrf"), ck.Value) {
		status = http.StatusForbidden
		c.showLogin(w, status, "", "登录页面已过期，请重新输入")
		return
	}
	name := r.PostForm.Get("name")
	// A refused login is audited under a hash of the name: a password
	// typed into the name field must not land in the audit log.
	who.Name = "name#" + nameHash(admin.FoldName(strings.TrimSpace(name)))
	s, err := c.acc.Login(r.Context(), name, r.PostForm.Get("password"), c.cfg.ClientIP(r))
	var limited *LimitedError
	switch {
	case errors.As(err, &limited):
		status = http.StatusTooManyRequests
		seconds := int(math.Ceil(limited.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(seconds))
		wait := strconv.Itoa(int(math.Ceil(limited.RetryAfter.Minutes()))) + " 分钟"
		if seconds < 60 { // the back-off starts at a second
			wait = strconv.Itoa(seconds) + " 秒"
		}
		c.showLogin(w, status, name, "登录失败次数过多，请 "+wait+"后再试")
		return
	case errors.Is(err, ErrBadLogin):
		status = http.StatusUnauthorized
		c.showLogin(w, status, name, "用户名或密码错误")
		return
	case err != nil:
		status = http.StatusInternalServerError
		c.logger.Error("console login failed", "err", err)
		c.showLogin(w, status, name, "服务器内部错误，请稍后重试")
		return
	}
	who = s
	c.setCookie(w, loginCookie, "", -1)
	c.setCookie(w, sessionCookie, s.id, int(SessionTTL.Seconds()))
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logoutSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := c.acc.logout(r.Context(), s); err != nil {
		return err
	}
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

func (c *Console) logoutAllSubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := c.acc.LogoutEverywhere(r.Context(), s.UserID); err != nil {
		return err
	}
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}
