package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/silenceper/wechat/v2/util"
)

// apiResult is the errcode part of every WeChat answer.
type apiResult struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (r apiResult) err(op string) error {
	if r.ErrCode == 0 {
		return nil
	}
	return &Error{Code: r.ErrCode, Msg: r.ErrMsg, Op: op}
}

// postJSON posts body to path (e.g. "/cgi-bin/message/mass/send") with
// tok, through the same base and HTTP client as the SDK, and decodes the
// answer into out, which must embed apiResult. It is for the calls the SDK
// lacks or gets wrong.
func postJSON(ctx context.Context, op, path, tok string, body any, out interface{ result() apiResult }) error {
	uri := defaultBase + path + "?access_token=" + url.QueryEscape(tok)
	raw, err := util.PostJSONContext(ctx, uri, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", op, err)
	}
	return out.result().err(op)
}

// getJSON is postJSON for GET calls; query may be nil.
func getJSON(ctx context.Context, op, path, tok string, query url.Values, out interface{ result() apiResult }) error {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("access_token", tok)
	raw, err := util.HTTPGetContext(ctx, defaultBase+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", op, err)
	}
	return out.result().err(op)
}

func (r *apiResult) result() apiResult { return *r }
