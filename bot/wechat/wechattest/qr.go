package wechattest

import "strconv"

const (
	qrDefaultExpire = 60         // seconds, when expire_seconds is absent
	qrMaxExpire     = 30 * 86400 // 2,592,000 seconds
	qrMaxPermanent  = 100000
	qrMaxSceneStr   = 64
)

// Scene returns the scene encoded in a QR ticket: the scene_str, or the
// scene_id in decimal.
func (s *Server) Scene(ticket string) (scene string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	scene, ok = s.tickets[ticket]
	return scene, ok
}

func (s *Server) handleQRCreate(q *request) result {
	var b struct {
		ExpireSeconds int64  `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneID  int64  `json:"scene_id"`
				SceneStr string `json:"scene_str"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	sc := b.ActionInfo.Scene
	var scene string
	permanent := false
	// unsure: 40052/40053 are WeChat's "invalid action name/info" codes;
	// which one a bad scene gets is not documented.
	switch b.ActionName {
	case "QR_SCENE":
		if sc.SceneID <= 0 || sc.SceneID > 1<<32-1 {
			return fail(40053, "invalid action info: scene_id")
		}
		scene = strconv.FormatInt(sc.SceneID, 10)
	case "QR_LIMIT_SCENE":
		if sc.SceneID < 1 || sc.SceneID > qrMaxPermanent {
			return fail(40053, "invalid action info: scene_id out of 1-100000")
		}
		scene, permanent = strconv.FormatInt(sc.SceneID, 10), true
	case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
		if n := len([]rune(sc.SceneStr)); n < 1 || n > qrMaxSceneStr {
			return fail(40053, "invalid action info: scene_str length must be 1-64")
		}
		scene, permanent = sc.SceneStr, b.ActionName == "QR_LIMIT_STR_SCENE"
	default:
		return fail(40052, "invalid action name")
	}
	a := q.app
	ticket := "gQ" + s.randHex(40)
	url := "http://weixin.qq.com/q/" + s.randHex(22)
	body := map[string]any{"ticket": ticket, "url": url}
	if permanent {
		if a.permQR >= qrMaxPermanent {
			// unsure: the errcode for exhausting permanent codes.
			return fail(45029, "qrcode count out of limit")
		}
		a.permQR++
	} else {
		exp := b.ExpireSeconds
		if exp <= 0 {
			exp = qrDefaultExpire
		}
		// unsure: WeChat appears to cap rather than reject a longer expiry.
		exp = min(exp, qrMaxExpire)
		body["expire_seconds"] = exp
	}
	s.tickets[ticket] = scene
	return result{body: body}
}
