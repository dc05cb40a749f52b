package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// The console is a user interface over the admin API: every change, and
// most reads, go through the same handlers, validation and role checks as
// a call to /api/v1 would, served in process as the logged-in user
// (admin.WithPrincipal). So the console holds no business rules of its
// own, and a rule changed in the API changes in the console too.

// apiError is an answer of the admin API other than 2xx.
type apiError struct {
	Status   int
	Msg      string            // the API's "error"
	Fields   map[string]string // per-field messages, when the API named fields
	Position int               // in a segment expression, when HasPos
	HasPos   bool
}

func (e *apiError) Error() string { return fmt.Sprintf("admin API: %d %s", e.Status, e.Msg) }

// call makes an admin API request as the session's user: method, path
// (with its query, e.g. "/api/v1/items?status=draft"), in encoded as the
// JSON body when not nil, and the JSON answer decoded into out when not
// nil. An answer other than 2xx is an *apiError.
func (c *Console) call(ctx context.Context, s *Session, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, s, method, path, "", http.NoBody, out)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("console: encode %s %s: %w", method, path, err)
	}
	return c.send(ctx, s, method, path, "application/json", bytes.NewReader(raw), out)
}

// send is call with a body already encoded as contentType (a multipart
// upload, say); contentType is empty for no body.
func (c *Console) send(ctx context.Context, s *Session, method, path, contentType string, body io.Reader, out any) error {
	if c.cfg.API == nil {
		return fmt.Errorf("console: no admin API configured for %s %s", method, path)
	}
	path = withAccountParam(ctx, path)
	req, err := http.NewRequestWithContext(admin.WithPrincipal(ctx, s.Principal), method, path, body)
	if err != nil {
		return fmt.Errorf("console: %s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	c.cfg.API.ServeHTTP(rec, req)
	if rec.Code < 200 || rec.Code > 299 {
		var e struct {
			Error    string            `json:"error"`
			Fields   map[string]string `json:"fields"`
			Position *int              `json:"position"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		ae := &apiError{Status: rec.Code, Msg: e.Error, Fields: e.Fields}
		if e.Position != nil {
			ae.Position, ae.HasPos = *e.Position, true
		}
		return ae
	}
	if out == nil || rec.Code == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}

// callRaw is call for answers that are not JSON (CSV exports): it returns
// the body and its content type.
func (c *Console) callRaw(ctx context.Context, s *Session, path string) ([]byte, string, error) {
	if c.cfg.API == nil {
		return nil, "", fmt.Errorf("console: no admin API configured for GET %s", path)
	}
	path = withAccountParam(ctx, path)
	req, err := http.NewRequestWithContext(admin.WithPrincipal(ctx, s.Principal), http.MethodGet, path, http.NoBody)
	if err != nil {
		return nil, "", fmt.Errorf("console: GET %s: %w", path, err)
	}
	rec := httptest.NewRecorder()
	c.cfg.API.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		return nil, "", &apiError{Status: rec.Code, Msg: e.Error}
	}
	return rec.Body.Bytes(), rec.Header().Get("Content-Type"), nil
}

// withAccountParam adds the request's account (withAccount) to an API
// path that names none.
func withAccountParam(ctx context.Context, path string) string {
	account, ok := ctx.Value(accountKey{}).(string)
	if !ok || strings.Contains(path, "account=") {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "account=" + url.QueryEscape(account)
}

// apiPath joins a path and query parameters (empty values are left out),
// with the account the page addresses.
func apiPath(path string, q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}

// fieldNames are the Chinese labels of the API's field names, for error
// messages.
var fieldNames = map[string]string{
	"title": "标题", "body": "正文", "summary": "摘要", "topics": "话题", "groups": "人群",
	"towns": "镇街", "url": "链接", "source": "来源", "reason": "理由", "name": "名称",
	"audience": "受众", "item_id": "内容", "mode": "方式", "send_at": "发送时间",
	"expr": "受众表达式", "expression": "受众表达式", "starts_at": "开始时间", "ends_at": "结束时间",
	"venue": "地点", "capacity": "名额", "code": "代码", "questions": "题目", "role": "角色",
	"spec": "时间规则", "segment": "受众", "stem": "题干", "choices": "选项", "answer": "答案",
	"explanation": "解析", "topic": "话题", "season": "季节", "priority": "优先级",
}

// apiMessages are the Chinese texts of the API's common answers.
var apiMessages = map[int]string{
	http.StatusBadRequest:          "填写有误",
	http.StatusUnauthorized:        "请先登录",
	http.StatusForbidden:           "您的角色不能进行此操作",
	http.StatusNotFound:            "找不到该记录",
	http.StatusConflict:            "当前状态下不能进行此操作",
	http.StatusServiceUnavailable:  "服务暂时不可用，请稍后重试",
	http.StatusInternalServerError: "服务器内部错误，请稍后重试",
}

// userMessage is an error for the person at the console: what the API
// refused and why, in Chinese, with the API's own words kept for detail.
func userMessage(err error) (status int, msg string) {
	ae, ok := err.(*apiError)
	if !ok {
		return http.StatusInternalServerError, ""
	}
	msg = apiMessages[ae.Status]
	if msg == "" {
		msg = "操作未成功"
	}
	if len(ae.Fields) > 0 {
		keys := make([]string, 0, len(ae.Fields))
		for k := range ae.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			name := fieldNames[k]
			if name == "" {
				name = k
			}
			parts[i] = name + "：" + ae.Fields[k]
		}
		msg += "（" + strings.Join(parts, "；") + "）"
	} else if ae.Msg != "" && ae.Status != http.StatusInternalServerError {
		msg += "（" + ae.Msg + "）"
	}
	return ae.Status, msg
}

// apiFail turns an API error into the error a page handler returns: the
// user's message with the API's status.
func apiFail(err error) error {
	if _, ok := err.(*apiError); !ok {
		return err
	}
	status, msg := userMessage(err)
	return &statusError{status: status, msg: msg}
}
