package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestMassCalendarEndToEnd: departments book the month's mass sends
// through the contract routes; the booking that would give farmers a
// fifth mass message is refused in Chinese.
func TestMassCalendarEndToEnd(t *testing.T) {
	t.Parallel()
	e := startE2E(t)
	e.onboard("oCalA", "农民", "派潭")
	e.onboard("oCalB", "农民", "正果")
	for i, dept := range []string{"科协", "农业农村局", "应急管理局", "卫健局"} {
		code, body := e.api("POST", "/api/v1/bookings", "admintoken", map[string]any{
			"date": fmt.Sprintf("2027-03-%02d", 5+i), "audience": "group:farmer", "department": dept})
		if code != 201 {
			t.Fatalf("booking %d = %d %v, want 201", i+1, code, body)
		}
		if warn, _ := body["warning"].(string); (i == 3) != strings.Contains(warn, "最后一条") {
			t.Errorf("booking %d warning = %q", i+1, warn)
		}
	}
	code, body := e.api("POST", "/api/v1/bookings", "admintoken", map[string]any{"date": "2027-03-28", "audience": "town:派潭", "department": "妇联"})
	if msg, _ := body["error"].(string); code != 409 || !strings.Contains(msg, "超出群发额度") {
		t.Errorf("a fifth booking = %d %v, want 409 with a Chinese explanation", code, body)
	}
	code, body = e.api("POST", "/api/v1/bookings", "admintoken", map[string]any{"date": "2027-03-28", "audience": "group:nobody", "department": "妇联"})
	if code != 400 || body["fields"] == nil {
		t.Errorf("a bad audience = %d %v, want 400 with fields", code, body)
	}
	code, body = e.api("GET", "/api/v1/massbudget?month=2027-03", "admintoken", nil)
	if code != 200 || len(body["bookings"].([]any)) != 4 || body["limit"] != 4.0 {
		t.Fatalf("GET massbudget = %d %v, want the 4 bookings", code, body)
	}
	for _, g := range body["groups"].([]any) {
		if m := g.(map[string]any); m["id"] == "farmer" && (m["min_left"] != 0.0 || m["exhausted"] != 2.0 || m["mass_sent"] != 0.0) {
			t.Errorf("farmers' budget = %v, want none left for both, no mass send made yet", m)
		}
	}
	// A campaign names its department's booking; another department's,
	// or one that does not exist, is refused.
	first := body["bookings"].([]any)[0].(map[string]any)
	code, c := e.api("POST", "/api/v1/campaigns", "admintoken", map[string]any{"name": "科协三月", "mode": "personalized", "audience": "group:farmer",
		"booking": first["id"], "send_at": "2027-03-05T10:00:00+08:00"})
	if code != 201 || c["booking"] != first["id"] || c["department"] != "科协" {
		t.Errorf("a booked campaign = %d %v, want 201 with the booking and its department", code, c)
	}
	for _, req := range []map[string]any{{"booking": first["id"], "department": "妇联"}, {"booking": "bk999"}} {
		req["name"], req["mode"] = "x", "personalized"
		if code, body := e.api("POST", "/api/v1/campaigns", "admintoken", req); code != 400 || body["fields"].(map[string]any)["booking"] == nil {
			t.Errorf("campaign %v = %d %v, want 400 fields.booking", req, code, body)
		}
	}
	// The console's calendar shows the bookings and what is left.
	page := e.consolePage("organizer", "/console/calendar?month=2027-03")
	for _, want := range []string{"群发日历", "2027-03-06", "农业农村局", "<th>农民</th><td>2</td><td>0 条</td><td>2</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("console calendar lacks %q:\n%s", want, page)
		}
	}
}
