package console

import (
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// auditRow is an audit entry with what it did in words.
type auditRow struct {
	admin.AuditRecord
	Action string
	OK     bool
}

// auditActions name the changes of the console and the admin API, by
// method and path with ids replaced by "*"; the last path segment names
// an action on a resource (submit, publish, ...).
var auditActions = map[string]string{
	"POST /console/login": "登录", "POST /console/logout": "退出", "POST /console/logout-all": "退出所有设备",
	"POST /console/users/*/password": "设置控制台密码", "POST /console/items/*": "修改内容",
	"POST /console/segments/*/delete": "删除受众",
	"POST /api/v1/users":              "新建用户", "POST /api/v1/items": "新建内容", "PUT /api/v1/items/*": "修改内容",
	"POST /api/v1/items/*/submit": "提交审核", "POST /api/v1/items/*/approve": "通过审核",
	"POST /api/v1/items/*/reject": "退回内容", "POST /api/v1/items/*/publish": "发布内容",
	"POST /api/v1/items/*/retire": "下架内容", "POST /api/v1/questions": "新建题目",
	"POST /api/v1/competitions": "新建竞赛", "POST /api/v1/competitions/*/publish": "发布竞赛",
	"POST /api/v1/competitions/*/invitation": "竞赛邀请推送",
	"POST /api/v1/events":                    "新建活动", "POST /api/v1/events/*/publish": "发布活动",
	"POST /api/v1/events/*/notice": "活动通知推送", "POST /api/v1/events/*/reminders": "活动提醒",
	"POST /api/v1/events/*/clone": "复制活动到明年",
	"POST /api/v1/segments":       "保存受众", "DELETE /api/v1/segments/*": "删除受众",
	"POST /api/v1/campaigns": "新建推送", "POST /api/v1/campaigns/*/start": "立即发送",
	"POST /api/v1/campaigns/*/schedule": "定时发送", "POST /api/v1/campaigns/*/pause": "暂停推送",
	"POST /api/v1/campaigns/*/resume": "继续推送", "POST /api/v1/campaigns/*/cancel": "取消推送",
	"POST /api/v1/deadletters/*/retry": "重试失败任务", "POST /api/v1/jobs/*/run": "立即运行任务",
	"POST /api/v1/jobs/*/pause": "暂停任务", "POST /api/v1/jobs/*/resume": "恢复任务",
	"POST /api/v1/programmes": "新建定期推送", "DELETE /api/v1/programmes/*": "删除定期推送",
	"PUT /api/v1/tagsync/*": "设置标签同步", "DELETE /api/v1/tagsync/*": "取消标签同步",
	"POST /api/v1/qrcodes": "生成二维码", "DELETE /api/v1/subscribers/*": "删除订阅者数据",
}

// mergeAudit shows a console action once: a console request and the
// admin API call it made are both recorded (each layer audits what it
// receives); next to each other, by the same user, doing the same action
// within a few seconds, the page keeps the console's entry, the outcome
// the user saw.
func mergeAudit(rows []auditRow) []auditRow {
	out := make([]auditRow, 0, len(rows))
	for i := 0; i < len(rows); i++ {
		if i+1 < len(rows) {
			a, b := rows[i], rows[i+1]
			d := a.Time.Sub(b.Time)
			if a.Action != "" && a.Action == b.Action && a.UserID == b.UserID && d < 5*time.Second && d > -5*time.Second &&
				strings.HasPrefix(a.Path, "/console/") != strings.HasPrefix(b.Path, "/console/") {
				if strings.HasPrefix(a.Path, "/console/") {
					out = append(out, a)
				} else {
					out = append(out, b)
				}
				i++
				continue
			}
		}
		out = append(out, rows[i])
	}
	return out
}

// auditAction says what an audited request did, or "" for one it does
// not know (the page shows the path either way). Console pages that
// call the API are recorded twice, once each (mergeAudit shows them once).
func auditAction(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// Ids follow their collection: /api/v1/items/<id>/..., /console/users/<id>/...
	first := 3
	if parts[0] == "console" {
		first = 2
	}
	for i := first; i < len(parts); i += 2 {
		parts[i] = "*"
	}
	if a, ok := auditActions[method+" /"+strings.Join(parts, "/")]; ok {
		return a
	}
	// A console form that posts where the API does (its API call is
	// the neighbouring entry).
	if rest, ok := strings.CutPrefix(path, "/console/"); ok && method == "POST" {
		api := "/api/v1/" + rest
		return auditAction(method, api)
	}
	return ""
}
