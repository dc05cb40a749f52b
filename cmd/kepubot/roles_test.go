package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestParseRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"web,worker,scheduler", []string{"web", "worker", "scheduler"}, ""},
		{" Worker , web,worker", []string{"worker", "web"}, ""},
		{"scheduler", []string{"scheduler"}, ""},
		{"web,cron", nil, `unknown role "cron"`},
		{" , ", nil, "no role given"},
	}
	for _, tc := range tests {
		got, err := parseRoles(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseRoles(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseRoles(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := LoadConfig("", env(map[string]string{"KEPUBOT_ROLES": "web,dispatcher"})); err == nil || !strings.Contains(err.Error(), "KEPUBOT_ROLES") {
		t.Errorf("LoadConfig(KEPUBOT_ROLES=web,dispatcher) = %v, want an error naming KEPUBOT_ROLES", err)
	}
	cfg, err := LoadConfig("", env(nil))
	if err != nil || !slices.Equal(cfg.Roles, allRoles) {
		t.Errorf("default roles = %v, %v; want %v", cfg.Roles, err, allRoles)
	}
}

// TestWorkerReplicaServesNoWebhook: a replica without the web role
// answers /healthz and /metrics but not the webhook or the admin API.
func TestWorkerReplicaServesNoWebhook(t *testing.T) {
	t.Parallel()
	e := startE2E(t, map[string]string{"KEPUBOT_ROLES": "worker,scheduler"})
	for _, tc := range []struct {
		path string
		want int
	}{{"/healthz", 200}, {"/metrics", 200}, {"/wechat", 404}, {"/api/v1/campaigns", 404}} {
		resp, err := http.Get(e.base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}
