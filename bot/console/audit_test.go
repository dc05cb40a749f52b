package console

import (
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

func TestAuditAction(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"POST /api/v1/items/it_9/approve":          "通过审核",
		"POST /console/items/it_9/approve":         "通过审核",
		"PUT /api/v1/items/it_9":                   "修改内容",
		"POST /console/items/it_9":                 "修改内容",
		"POST /console/users/u_1/password":         "设置控制台密码",
		"POST /console/campaigns/c_1/schedule":     "定时发送",
		"POST /api/v1/campaigns":                   "新建推送",
		"POST /console/jobs/daily-tip/run":         "立即运行任务",
		"POST /console/segments/paitan/delete":     "删除受众",
		"DELETE /api/v1/subscribers/oABC":          "删除订阅者数据",
		"POST /console/login":                      "登录",
		"POST /api/v1/something/new":               "",
		"POST /console/deadletters/1-0/retry":      "重试失败任务",
		"POST /api/v1/competitions/c_2/invitation": "竞赛邀请推送",
	}
	for in, want := range cases {
		method, path, _ := strings.Cut(in, " ")
		if got := auditAction(method, path); got != want {
			t.Errorf("auditAction(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestMergeAudit(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 5, 24, 8, 0, 0, 0, time.UTC)
	rec := func(user, method, path string, sec int) auditRow {
		return auditRow{AuditRecord: admin.AuditRecord{UserID: user, Method: method, Path: path, Time: at.Add(time.Duration(sec) * time.Second)},
			Action: auditAction(method, path)}
	}
	rows := []auditRow{
		rec("u_1", "POST", "/console/campaigns/c_1/start", 1), // newest first
		rec("u_1", "POST", "/api/v1/campaigns/c_1/start", 1),
		rec("u_2", "POST", "/api/v1/campaigns/c_1/pause", 0), // an API client's own call
		rec("u_1", "POST", "/api/v1/items/it_1/publish", -60),
		rec("u_1", "POST", "/console/items/it_1/publish", -60),
		rec("u_1", "POST", "/console/login", -120),
	}
	got := mergeAudit(rows)
	var paths []string
	for _, r := range got {
		paths = append(paths, r.Path)
	}
	want := []string{"/console/campaigns/c_1/start", "/api/v1/campaigns/c_1/pause", "/console/items/it_1/publish", "/console/login"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("mergeAudit = %v, want %v", paths, want)
	}
}
