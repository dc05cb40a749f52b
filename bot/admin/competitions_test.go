package admin_test

import (
	"net/http"
	"testing"
)

func TestQuizAndEvents(t *testing.T) {
	t.Parallel()
	api := newContentAPI(t)
	editor := api.user("编辑", "editor")
	organizer := api.user("组织者", "organizer")
	viewer := api.user("观察员", "viewer")

	question := map[string]any{"stem": "荔枝开花期为什么不宜喷杀虫剂？", "options": []string{"伤害蜜蜂", "花会变色", "没有害虫"},
		"answer": []int{0}, "explanation": "荔枝靠昆虫传粉。", "topic": "litchi", "difficulty": 2}
	q := api.must(http.StatusCreated, "POST", "/api/v1/questions", editor, question)
	if q["id"] != "q_1" || q["stem"] != question["stem"] {
		t.Fatalf("POST /api/v1/questions = %v", q)
	}
	api.must(http.StatusOK, "GET", "/api/v1/questions/q_1", viewer, nil)
	if list := api.must(http.StatusOK, "GET", "/api/v1/questions?topic=litchi", viewer, nil); list["total"] != float64(1) {
		t.Errorf("questions on litchi = %v, want 1", list)
	}

	competition := map[string]any{"title": "公民科学素质知识竞赛", "starts_at": "2027-09-01T00:00:00+08:00",
		"ends_at": "2027-09-30T23:59:59+08:00", "audience": "", "question_ids": []string{"q_1"},
		"time_limit_seconds": 30, "pass_mark": 1, "attempts": 2}
	c := api.must(http.StatusCreated, "POST", "/api/v1/competitions", organizer, competition)
	if c["id"] != "c_1" || c["status"] != "draft" || len(c["code"].(string)) != 6 {
		t.Fatalf("POST /api/v1/competitions = %v, want c_1, draft, a generated code", c)
	}

	event := map[string]any{"title": "全国科普日主场活动", "description": "科普展览", "starts_at": "2027-09-18T09:00:00+08:00",
		"ends_at": "2027-09-18T17:00:00+08:00", "venue": "增城广场", "town": "licheng", "audience": "",
		"capacity": 1500, "code": "KPR2027", "reminders": []string{"24h", "1h"}}
	e := api.must(http.StatusCreated, "POST", "/api/v1/events", organizer, event)
	if e["id"] != "ev_1" || e["code"] != "KPR2027" || e["status"] != "draft" {
		t.Fatalf("POST /api/v1/events = %v", e)
	}

	tests := []struct {
		name         string
		method, path string
		token        string
		body         any
		want         int
		field        string
	}{
		{"bad question", "POST", "/api/v1/questions", editor, map[string]any{"stem": "x", "options": []string{"a"}, "answer": []int{3}, "topic": "magic", "difficulty": 9}, http.StatusBadRequest, "options"},
		{"viewer writes a question", "POST", "/api/v1/questions", viewer, question, http.StatusForbidden, ""},
		{"missing question", "GET", "/api/v1/questions/q_9", viewer, nil, http.StatusNotFound, ""},
		{"unknown question ids", "POST", "/api/v1/competitions", organizer, with(competition, "question_ids", []string{"q_1", "q_9"}), http.StatusBadRequest, "question_ids"},
		{"pass mark too high", "POST", "/api/v1/competitions", organizer, with(competition, "pass_mark", 5), http.StatusBadRequest, "pass_mark"},
		{"bad time", "POST", "/api/v1/competitions", organizer, with(competition, "starts_at", "tomorrow"), http.StatusBadRequest, ""},
		{"editor creates a competition", "POST", "/api/v1/competitions", editor, competition, http.StatusForbidden, ""},
		{"editor publishes a competition", "POST", "/api/v1/competitions/c_1/publish", editor, nil, http.StatusForbidden, ""},
		{"organizer publishes a competition", "POST", "/api/v1/competitions/c_1/publish", organizer, nil, http.StatusOK, ""},
		{"publish a missing competition", "POST", "/api/v1/competitions/c_9/publish", organizer, nil, http.StatusNotFound, ""},
		{"code taken", "POST", "/api/v1/events", organizer, event, http.StatusConflict, ""},
		{"bad reminders", "POST", "/api/v1/events", organizer, with(event, "reminders", []string{"tomorrow"}), http.StatusBadRequest, "reminders"},
		{"unknown town", "POST", "/api/v1/events", organizer, with(event, "town", "paris"), http.StatusBadRequest, "town"},
		{"organizer publishes an event", "POST", "/api/v1/events/ev_1/publish", organizer, nil, http.StatusOK, ""},
		{"viewer reads an event", "GET", "/api/v1/events/ev_1", viewer, nil, http.StatusOK, ""},
	}
	for _, tt := range tests {
		got, out := api.do(tt.method, tt.path, tt.token, tt.body)
		fields, _ := out["fields"].(map[string]any)
		if got != tt.want || (tt.field != "" && fields[tt.field] == nil) {
			t.Errorf("%s: %s %s = %d %v, want %d with field %q", tt.name, tt.method, tt.path, got, out, tt.want, tt.field)
		}
	}
	for _, path := range []string{"/api/v1/competitions?status=published", "/api/v1/events?status=published"} {
		if list := api.must(http.StatusOK, "GET", path, viewer, nil); list["total"] != float64(1) {
			t.Errorf("GET %s = %v, want 1", path, list)
		}
	}
}

// with returns a copy of m with key set to v.
func with(m map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	out[key] = v
	return out
}
