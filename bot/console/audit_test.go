package console

import (
	"strings"
	"testing"
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
