package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/bot/signup"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/scheduler/alerts"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

// The admin API describes itself at GET /api/v1/openapi.json, an OpenAPI
// 3.0 document built from apiDocs below: one entry per route, keyed like
// the route's Handle pattern. The request and response schemas are
// generated (openapi3gen) from the Go types the handlers decode and
// encode; only answers a handler builds as a map are written out here,
// as anonymous structs with the same fields. TestOpenAPI fails when a
// registered route has no entry, an entry names no registered route, or
// the roles differ from the ones given to Handle; other tests check real
// answers against the schemas.
//
// The document is served without authentication: it holds no data, only
// the contract (which is in this source anyway), and tools such as
// Swagger UI and client generators fetch it without a token. Every
// operation in it still requires a bearer token.

// OpenAPIPath is where the admin API serves its OpenAPI document.
const OpenAPIPath = "/api/v1/openapi.json"

// routeDoc documents one route of the admin API.
type routeDoc struct {
	Summary     string
	Description string
	// Roles may call the route besides admins (nil: admins only). They
	// must match the roles given to Handle; TestOpenAPI checks.
	Roles []Role
	// Public routes need no token.
	Public bool
	// Global routes do not address a WeChat account: no ?account=. Those
	// with Roles nil are for deployment-wide admins only (HandleDeployment);
	// those with Roles answer the caller's own view (HandleCaller).
	Global bool
	Query  []queryParam
	// Body is a value of the type the handler decodes (nil: no body).
	Body         any
	OptionalBody bool
	// File, when set, is a multipart/form-data body with one file part of
	// that name.
	File string
	// Status is the success status: 200 (when 0), 201 or 204.
	Status int
	// Out is a value of the type the handler answers as JSON.
	Out any
	// CSV: the answer is (or, with Out, may be) a CSV file.
	CSV bool
	// Errors lists the error statuses besides 400 (for a route with a
	// body or query), 401, 403 and 500, which every route may answer.
	Errors []int
}

// queryParam is a query parameter: its schema type and what it does.
type queryParam struct{ Name, Type, Description string }

func qp(name, typ, desc string) queryParam { return queryParam{name, typ, desc} }

var (
	everyone   = []Role{RoleEditor, RoleReviewer, RoleOrganizer, RoleViewer}
	organizers = []Role{RoleOrganizer}
	editors    = []Role{RoleEditor}
	reporters  = []Role{RoleOrganizer, RoleViewer} // organizers, and viewers who read reports

	pageQuery = []queryParam{
		qp("limit", "integer", "page size, 1–500 (default 50)"),
		qp("offset", "integer", "items to skip (default 0)"),
	}
	statusPageQuery = append([]queryParam{qp("status", "string", "draft or published (default: both)")}, pageQuery...)
)

// Answers the handlers build as maps, with the same fields.
type (
	page struct {
		Total  int `json:"total"`
		Limit  int `json:"limit"`
		Offset int `json:"offset"`
	}
	qrAnswer struct {
		Scene     string    `json:"scene"`
		Ticket    string    `json:"ticket"`
		URL       string    `json:"url"`
		Temporary bool      `json:"temporary"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	reviewRequest struct {
		Reason string `json:"reason"` // required to reject
	}
)

// apiDocs is the admin API, one entry per registered route. Adding a
// route means adding its entry here.
var apiDocs = map[string]routeDoc{
	"GET " + OpenAPIPath: {Summary: "This OpenAPI document", Public: true, Global: true, Out: map[string]any{}},

	// accounts.go
	"GET /api/v1/accounts": {Summary: "The WeChat accounts the caller belongs to, with its role in each (a deployment-wide user: all)",
		Roles: everyone, Global: true, Out: struct {
			Accounts []AccountInfo `json:"accounts"`
		}{}},
	"POST /api/v1/accounts": {Summary: "Add a WeChat account; every replica serves it from then on, without a restart",
		Description: "Deployment-wide admins only. id: 1-32 of a-z, 0-9, _ and -; app_id, token and aes_key must differ from every other account's.",
		Global:      true, Body: AccountInput{}, Status: http.StatusCreated, Out: AccountInfo{}, Errors: []int{409}},

	// users.go, audit.go
	"POST /api/v1/users": {Summary: "Create a user; the answer shows its bearer token this once",
		Description: "Names are unique, compared trimmed and ignoring case: a taken name answers 409. " +
			"role makes a deployment-wide user (that role in every account); accounts {\"<id>\": \"<role>\"} a user of those accounts only. Deployment-wide admins only.",
		Global: true, Body: userRequest{}, Status: http.StatusCreated, Out: NewUser{}, Errors: []int{409}},
	"GET /api/v1/users": {Summary: "List users, oldest first (never with tokens)", Global: true,
		Out: struct {
			Users []User `json:"users"`
		}{}},
	"GET /api/v1/demand": {Summary: "What people search for: the most searched words over the last days, overall or for one town or one group (words and counts only)",
		Roles: everyone,
		Query: []queryParam{qp("days", "integer", "1–366 (default 7)"), qp("town", "string", "a town id (not with group)"),
			qp("group", "string", "a group id (not with town)"), qp("limit", "integer", "1–500 (default 50)")},
		Out: demandAnswer{}},
	"GET /api/v1/audit": {Summary: "The newest audit log entries, newest first", Global: true,
		Query: []queryParam{qp("limit", "integer", "1–1000 (default 100)")},
		Out: struct {
			Entries []AuditRecord `json:"entries"`
		}{}},

	// items.go
	"POST /api/v1/items": {Summary: "Create a draft item", Roles: editors,
		Description: "A client may send back an item it read: versions, history, ids, status and times are ignored.",
		Body:        itemInput{}, Status: http.StatusCreated, Out: itemView{}, Errors: []int{409}},
	"PUT /api/v1/items/{id}": {Summary: "Edit an item (a new version)", Roles: editors,
		Body: itemInput{}, Out: itemView{}, Errors: []int{404, 409}},
	"POST /api/v1/items/{id}/submit": {Summary: "Submit an item for review", Roles: reviewRoles[content.ActionSubmit],
		Body: reviewRequest{}, OptionalBody: true, Out: itemView{}, Errors: []int{404, 409}},
	"POST /api/v1/items/{id}/approve": {Summary: "Approve an item in review (not one's own)", Roles: reviewRoles[content.ActionApprove],
		Body: reviewRequest{}, OptionalBody: true, Out: itemView{}, Errors: []int{404, 409}},
	"POST /api/v1/items/{id}/reject": {Summary: "Reject an item in review, with a reason", Roles: reviewRoles[content.ActionReject],
		Body: reviewRequest{}, OptionalBody: true, Out: itemView{}, Errors: []int{404, 409}},
	"POST /api/v1/items/{id}/publish": {Summary: "Publish an approved item", Roles: reviewRoles[content.ActionPublish],
		Body: reviewRequest{}, OptionalBody: true, Out: itemView{}, Errors: []int{404, 409}},
	"POST /api/v1/items/{id}/retire": {Summary: "Retire a published item", Roles: reviewRoles[content.ActionRetire],
		Body: reviewRequest{}, OptionalBody: true, Out: itemView{}, Errors: []int{404, 409}},
	"POST /api/v1/items/{id}/audio": {Summary: "Attach a voice recording to an item (multipart part \"file\": MP3 or AMR, at most 60 s and 2 MB; its frames are read for the duration), sent to elder-mode subscribers as a WeChat voice message", Roles: editors,
		File: "file", Out: content.Audio{}, Errors: []int{404}},
	"GET /api/v1/items/{id}/audio": {Summary: "The item's voice recording: its format, seconds and size (404 when it has none)", Roles: everyone,
		Out: content.Audio{}, Errors: []int{404}},
	"GET /api/v1/items/{id}": {Summary: "An item with its review history", Roles: everyone,
		Query: []queryParam{qp("version", "integer", "show this earlier version's content")},
		Out:   itemView{}, Errors: []int{404}},
	"GET /api/v1/items": {Summary: "List items", Roles: everyone,
		Query: append([]queryParam{
			qp("status", "string", "draft, in_review, approved, published or retired"),
			qp("group", "string", "group id"), qp("town", "string", "town id"), qp("topic", "string", "topic id"),
		}, pageQuery...),
		Out: struct {
			Items []content.Item `json:"items"`
			page
		}{}},

	// questions.go
	"POST /api/v1/questions": {Summary: "Create a quiz question", Roles: editors,
		Body: content.Question{}, Status: http.StatusCreated, Out: content.Question{}, Errors: []int{409}},
	"GET /api/v1/questions/{id}": {Summary: "A quiz question", Roles: everyone, Out: content.Question{}, Errors: []int{404}},
	"GET /api/v1/questions": {Summary: "List quiz questions", Roles: everyone,
		Query: append([]queryParam{qp("topic", "string", "topic id"),
			qp("difficulty", "integer", fmt.Sprintf("%d–%d", content.MinDifficulty, content.MaxDifficulty))}, pageQuery...),
		Out: struct {
			Questions []content.Question `json:"questions"`
			page
		}{}},

	// competitions.go, quiz.go
	"POST /api/v1/competitions": {Summary: "Create a draft quiz competition", Roles: organizers,
		Body: content.Competition{}, Status: http.StatusCreated, Out: content.Competition{}, Errors: []int{409}},
	"POST /api/v1/competitions/{id}/publish": {Summary: "Publish a competition", Roles: organizers,
		Out: content.Competition{}, Errors: []int{404, 409}},
	"GET /api/v1/competitions/{id}": {Summary: "A competition", Roles: everyone, Out: content.Competition{}, Errors: []int{404}},
	"GET /api/v1/competitions": {Summary: "List competitions", Roles: everyone, Query: statusPageQuery,
		Out: struct {
			Competitions []content.Competition `json:"competitions"`
			page
		}{}},
	"GET /api/v1/competitions/{id}/leaderboard": {Summary: "A competition's leaderboard (shows openids)", Roles: reporters,
		Query: []queryParam{qp("town", "string", "town id"), qp("group", "string", "group id"), qp("limit", "integer", "1–1000 (default 100)")},
		Out:   []quiz.Entry{}, Errors: []int{404}},
	"GET /api/v1/competitions/{id}/stats": {Summary: "A competition's statistics and literacy indicator", Roles: reporters,
		Out: quizStats{}, Errors: []int{404}},
	"GET /api/v1/competitions/{id}/export.csv": {Summary: "A competition's results as a CSV file (shows openids)", Roles: reporters,
		CSV: true, Errors: []int{404}},
	"POST /api/v1/competitions/{id}/invitation": {Summary: "A campaign inviting the competition's audience", Roles: organizers,
		Body: struct {
			URL string `json:"url"`
		}{}, Status: http.StatusCreated, Out: campaign.Campaign{}, Errors: []int{404, 409}},

	// events.go, events_signup.go
	"POST /api/v1/events": {Summary: "Create a draft event", Roles: organizers,
		Body: content.Event{}, Status: http.StatusCreated, Out: content.Event{}, Errors: []int{409}},
	"POST /api/v1/events/{id}/publish": {Summary: "Publish an event (and schedule its reminders)", Roles: organizers,
		Out: content.Event{}, Errors: []int{404, 409}},
	"GET /api/v1/events/{id}": {Summary: "An event with its sign-up counts", Roles: everyone, Out: eventView{}, Errors: []int{404}},
	"GET /api/v1/events": {Summary: "List events", Roles: everyone, Query: statusPageQuery,
		Out: struct {
			Events []content.Event `json:"events"`
			page
		}{}},
	"GET /api/v1/events/{id}/signups": {Summary: "An event's sign-up counts", Roles: everyone, Out: signup.Summary{}, Errors: []int{404}},
	"GET /api/v1/events/{id}/qrcode": {Summary: "The event's check-in QR code, created on first call", Roles: reporters,
		Out: qrAnswer{}, Errors: []int{404, 409, 502, 503}},
	"GET /api/v1/events/{id}/stats": {Summary: "An event's statistics, as JSON or (format=csv) a CSV file", Roles: reporters,
		Query: []queryParam{qp("format", "string", "csv for a CSV file")}, Out: signup.Stats{}, CSV: true, Errors: []int{404}},
	"POST /api/v1/events/{id}/notice": {Summary: "A notice campaign to the event's audience", Roles: organizers,
		Body: struct {
			URL    string     `json:"url"`
			SendAt *time.Time `json:"send_at"`
		}{}, Status: http.StatusCreated, Out: campaign.Campaign{}, Errors: []int{404, 409}},
	"POST /api/v1/events/{id}/reminders": {Summary: "Schedule the event's reminders (after publishing or moving it)", Roles: organizers,
		Out: struct {
			ID        string   `json:"id"`
			Reminders []string `json:"reminders"`
		}{}, Errors: []int{404, 409}},
	"POST /api/v1/events/{id}/clone": {Summary: "Copy an event to a new year (a draft)", Roles: organizers,
		Body: struct {
			Year int `json:"year"`
		}{}, Status: http.StatusCreated, Out: content.Event{}, Errors: []int{404, 409}},

	// segments.go
	"POST /api/v1/segments/preview": {Summary: "Count an audience expression's subscribers, by town and group", Roles: everyone,
		Description: "A bad expression answers 400 with the position of the error.",
		Body:        previewRequest{}, Out: previewResponse{}},
	"POST /api/v1/segments": {Summary: "Save a named audience", Roles: organizers,
		Body: saveRequest{}, Status: http.StatusCreated, Out: segment.Saved{}, Errors: []int{409}},
	"GET /api/v1/segments": {Summary: "List saved audiences", Roles: everyone,
		Out: struct {
			Segments []segment.Saved `json:"segments"`
		}{}},
	"GET /api/v1/segments/{name}":    {Summary: "A saved audience", Roles: everyone, Out: segment.Saved{}, Errors: []int{404}},
	"DELETE /api/v1/segments/{name}": {Summary: "Delete a saved audience", Roles: organizers, Status: http.StatusNoContent, Errors: []int{404}},

	// subscribers.go, qrcodes.go
	"GET /api/v1/subscribers/{openid}": {Summary: "A subscriber's profile (personal information)", Roles: organizers,
		Out: Subscriber{}, Errors: []int{404}},
	"DELETE /api/v1/subscribers/{openid}": {Summary: "Erase a subscriber's profile", Status: http.StatusNoContent, Errors: []int{404}},
	"GET /api/v1/subscribers/count": {Summary: "How many subscribers are reachable", Roles: everyone,
		Out: struct {
			Reachable int64 `json:"reachable"`
		}{}},
	"POST /api/v1/qrcodes": {Summary: "Create a parametric QR code that profiles whoever follows through it", Roles: organizers,
		Body: qrRequest{}, Status: http.StatusCreated, Out: qrAnswer{}, Errors: []int{404, 502, 503}},

	// campaigns.go
	"POST /api/v1/campaigns": {Summary: "Create a campaign (scheduled when send_at is given, else a draft); booking names the department's mass-send booking for its day (its mass sends use it; without one only budget no booking holds, skipped as reserved); department defaults to the booking's, else the creating user's", Roles: organizers,
		Description: "variants (2–5, with item_id): [{item_id} | {title, summary}] split the audience by a hash of campaign and profile id; " +
			"winner_after, a Go duration string (\"2h\") or a number of seconds (shown in seconds), holds 50 % back and sends it, that long after the start, " +
			"the variant with the best lower bound of its Wilson 95 % interval; GET then shows stats.variants [{item_id, title, sent, clicks, ctr, ci_low, ci_high, winner, holdout}]. " +
			"send_time \"optimal\" sends each recipient at their best_hour of the campaign's day (outside quiet hours), the rest at the start.",
		Body: campaignRequest{}, Status: http.StatusCreated, Out: campaignView{}},
	"GET /api/v1/campaigns": {Summary: "The newest 100 campaigns", Roles: everyone, Out: []campaign.Campaign{}},
	"GET /api/v1/campaigns/{id}": {Summary: "A campaign with its delivery statistics", Roles: everyone,
		Out: campaignView{}, Errors: []int{404}},
	"GET /api/v1/campaigns/{id}/plan": {Summary: "Who a campaign would reach and with what, with a sample", Roles: []Role{RoleOrganizer, RoleEditor, RoleViewer},
		Query: []queryParam{qp("sample", "integer", "sample size, 1–200 (default 20)")}, Out: campaign.PlanReport{}, Errors: []int{404}},
	"POST /api/v1/campaigns/{id}/start": {Summary: "Start a draft or scheduled campaign now", Roles: organizers, Out: campaignView{}, Errors: []int{404, 409}},
	"POST /api/v1/campaigns/{id}/schedule": {Summary: "Schedule a draft campaign to start by itself at send_at (RFC 3339, in the future)", Roles: organizers,
		Body: scheduleRequest{}, Out: campaignView{}, Errors: []int{404, 409}},
	"POST /api/v1/campaigns/{id}/pause":  {Summary: "Pause a running campaign", Roles: organizers, Out: campaignView{}, Errors: []int{404, 409}},
	"POST /api/v1/campaigns/{id}/resume": {Summary: "Resume a paused campaign", Roles: organizers, Out: campaignView{}, Errors: []int{404, 409}},
	"POST /api/v1/campaigns/{id}/cancel": {Summary: "Cancel a campaign", Roles: organizers, Out: campaignView{}, Errors: []int{404, 409}},
	"GET /api/v1/deadletters": {Summary: "Deliveries that failed for good", Roles: reporters,
		Query: []queryParam{qp("limit", "integer", "1–1000 (default 100)")},
		Out: []struct {
			ID      string    `json:"id"`
			JobID   string    `json:"job_id"`
			Kind    string    `json:"kind"`
			Attempt int       `json:"attempt"`
			Reason  string    `json:"reason"`
			At      time.Time `json:"at"`
		}{}},
	"POST /api/v1/deadletters/{id}/retry": {Summary: "Queue a dead letter again", Roles: organizers,
		Out: struct {
			Status string `json:"status"`
		}{}, Errors: []int{404}},

	// alerts.go
	"GET /api/v1/alerts": {Summary: "The newest 100 hazard alerts (CAP) taken in, with their status and reach", Roles: everyone, Out: []alerts.Record{}},
	"POST /api/v1/alerts/{id}/approve": {Summary: "Approve a held hazard alert: its notice is sent now", Roles: organizers,
		Out: alerts.Record{}, Errors: []int{404, 409}},
	"GET /api/v1/alerts/settings": {Summary: "Whether the account holds automatic alert sending", Roles: everyone, Out: alertSettings{}},
	"PUT /api/v1/alerts/settings": {Summary: "Hold (or release) automatic alert sending: held alerts wait for approval", Roles: organizers,
		Body: alertSettings{}, Out: alertSettings{}},

	// calendar.go
	"GET /api/v1/massbudget": {Summary: "The month's mass-send calendar: bookings and the budget left (4 a month per subscriber, one kept for alerts) by group and town, after the mass sends made this month (mass_sent) and the bookings from today on", Roles: everyone,
		Query: []queryParam{qp("month", "string", "YYYY-MM (default: this month)")}, Out: calendar.Budget{}},
	"POST /api/v1/bookings": {Summary: "Book a mass send: a date and an audience for a department (default: the booking user's); refused (409) when it would give anyone a fifth mass message this month, accepted with a warning when it uses someone's last one", Roles: organizers,
		Body: bookingRequest{}, Status: http.StatusCreated, Out: calendar.Result{}, Errors: []int{409}},

	// jobs.go
	"GET /api/v1/jobs": {Summary: "The account's scheduled jobs (its programmes included) and their last runs", Roles: everyone, Out: []jobs.Status{}},
	"POST /api/v1/jobs/{name}/run": {Summary: "Run a job now", Roles: organizers,
		Out: struct {
			Name   string    `json:"name"`
			Tick   string    `json:"tick"`
			At     time.Time `json:"at"`
			Status string    `json:"status"`
		}{}, Errors: []int{404}},
	"POST /api/v1/jobs/{name}/pause":  {Summary: "Pause a job", Roles: organizers, Out: jobs.Status{}, Errors: []int{404}},
	"POST /api/v1/jobs/{name}/resume": {Summary: "Resume a paused job", Roles: organizers, Out: jobs.Status{}, Errors: []int{404}},
	"POST /api/v1/programmes": {Summary: "Save a recurring programme (a campaign on a cron schedule)", Roles: organizers,
		Body: programmeRequest{}, Status: http.StatusCreated, Out: jobs.Programme{}, Errors: []int{409}},
	"GET /api/v1/programmes":           {Summary: "List recurring programmes", Roles: everyone, Out: []jobs.Programme{}},
	"GET /api/v1/programmes/{name}":    {Summary: "A recurring programme", Roles: everyone, Out: jobs.Programme{}, Errors: []int{404}},
	"DELETE /api/v1/programmes/{name}": {Summary: "Delete a recurring programme", Roles: organizers, Status: http.StatusNoContent, Errors: []int{404}},
	"GET /api/v1/tagsync":              {Summary: "The saved audiences synced to WeChat tags", Roles: everyone, Out: []jobs.SyncResult{}},
	"PUT /api/v1/tagsync/{segment}": {Summary: "Sync a saved audience to a WeChat tag", Roles: organizers,
		Out: struct {
			Segment string `json:"segment"`
			Synced  bool   `json:"synced"`
		}{}, Errors: []int{404}},
	"DELETE /api/v1/tagsync/{segment}": {Summary: "Stop syncing a saved audience to a WeChat tag", Roles: organizers,
		Status: http.StatusNoContent, Errors: []int{404}},
}

// errorStatuses names the shared error responses.
var errorStatuses = map[int]string{
	400: "the request is invalid; fields names the bad ones",
	401: "no token, or an unknown one",
	403: "the caller's role may not do this",
	404: "not found",
	409: "conflicts with the current state",
	500: "internal error",
	502: "WeChat refused or failed",
	503: "temporarily unavailable",
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// BuildOpenAPI returns the admin API's OpenAPI document, validated.
func BuildOpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "kepubot admin API", Version: "1",
			Description: "The admin API of kepubot. Every operation but this document's needs a bearer token; " +
				"x-roles lists the roles allowed (admins may do everything). Operations on one WeChat account " +
				"take ?account= (default: the deployment's first account); a user of some accounts only gets 403 on the others. Errors answer {error, fields, position}."},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:   openapi3.Schemas{},
			Responses: openapi3.ResponseBodies{},
			SecuritySchemes: openapi3.SecuritySchemes{"bearer": {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
				Description: "a user's token (POST /api/v1/users) or the bootstrap KEPUBOT_ADMIN_TOKEN"}}},
		},
		Security: openapi3.SecurityRequirements{{"bearer": {}}},
	}
	doc.Components.Schemas["Error"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Type:     &openapi3.Types{"object"},
		Required: []string{"error"},
		Properties: openapi3.Schemas{
			"error":    described(openapi3.NewStringSchema(), "what went wrong"),
			"fields":   described(openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewStringSchema()), "a message per bad field"),
			"position": described(openapi3.NewIntegerSchema(), "where in an audience expression the error is"),
		},
	})
	for status, desc := range errorStatuses {
		doc.Components.Responses[errorName(status)] = &openapi3.ResponseRef{Value: openapi3.NewResponse().
			WithDescription(desc).WithJSONSchemaRef(openapi3.NewSchemaRef("#/components/schemas/Error", nil))}
	}

	gen := openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.CreateTypeNameGenerator(typeName),
		openapi3gen.SchemaCustomizer(nullableLikeJSON),
	)
	schema := func(v any) (*openapi3.SchemaRef, error) {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			return openapi3.NewObjectSchema().NewRef(), nil // any object
		}
		return gen.NewSchemaRefForValue(v, doc.Components.Schemas)
	}

	keys := make([]string, 0, len(apiDocs))
	for k := range apiDocs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		d := apiDocs[key]
		method, path, ok := strings.Cut(key, " ")
		if !ok {
			return nil, fmt.Errorf("openapi: bad route key %q", key)
		}
		op := &openapi3.Operation{
			OperationID: operationID(method, path),
			Summary:     d.Summary,
			Description: d.Description,
			Tags:        []string{tag(path)},
			Responses:   openapi3.NewResponses(),
		}
		roles := append([]Role{RoleAdmin}, d.Roles...)
		if d.Public {
			op.Security = &openapi3.SecurityRequirements{}
		} else {
			op.Extensions = map[string]any{"x-roles": roles}
			op.Description = strings.TrimSpace(op.Description + "\n\nRoles: " + joinRoles(roles) + ".")
			if d.Global && d.Roles == nil {
				// Users, accounts, the audit log: the whole deployment's.
				op.Extensions["x-deployment"] = true
				op.Description += " Deployment-wide admins only (not an admin of some accounts)."
			}
		}
		for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
			op.AddParameter(openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema()))
		}
		if !d.Global {
			op.AddParameter(openapi3.NewQueryParameter("account").WithSchema(openapi3.NewStringSchema()).
				WithDescription(`the WeChat account (default: the deployment's first); 404 when not configured, 403 when the caller has no role in it`))
		}
		for _, q := range d.Query {
			op.AddParameter(openapi3.NewQueryParameter(q.Name).WithDescription(q.Description).
				WithSchema(&openapi3.Schema{Type: &openapi3.Types{q.Type}}))
		}
		if d.Body != nil {
			ref, err := schema(d.Body)
			if err != nil {
				return nil, fmt.Errorf("openapi: %s: request body: %w", key, err)
			}
			body := openapi3.NewRequestBody().WithJSONSchemaRef(ref).WithRequired(!d.OptionalBody)
			op.RequestBody = &openapi3.RequestBodyRef{Value: body}
		}
		if d.File != "" {
			file := openapi3.NewObjectSchema().WithProperty(d.File, openapi3.NewStringSchema().WithFormat("binary")).WithRequired([]string{d.File})
			body := openapi3.NewRequestBody().WithRequired(true).WithContent(openapi3.NewContentWithFormDataSchema(file))
			op.RequestBody = &openapi3.RequestBodyRef{Value: body}
		}

		status := d.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok200 := openapi3.NewResponse().WithDescription(http.StatusText(status))
		if d.Out != nil {
			ref, err := schema(d.Out)
			if err != nil {
				return nil, fmt.Errorf("openapi: %s: response: %w", key, err)
			}
			ok200.WithJSONSchemaRef(ref)
		}
		if d.CSV {
			if ok200.Content == nil {
				ok200.Content = openapi3.Content{}
			}
			ok200.Content["text/csv"] = openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema())
		}
		op.AddResponse(status, ok200)
		errs := slices.Clone(d.Errors)
		if !d.Public {
			errs = append(errs, 401, 403, 500)
		}
		if d.Body != nil || d.File != "" || len(d.Query) > 0 || !d.Global {
			errs = append(errs, 400)
		}
		slices.Sort(errs)
		for _, st := range slices.Compact(errs) {
			if _, ok := errorStatuses[st]; !ok {
				return nil, fmt.Errorf("openapi: %s: no shared response for status %d", key, st)
			}
			op.Responses.Set(strconv.Itoa(st), &openapi3.ResponseRef{Ref: "#/components/responses/" + errorName(st)})
		}
		doc.AddOperation(path, method, op)
	}
	// Marshal and load back, so that every $ref the generator left
	// unresolved is resolved, and validate the result.
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := loaded.Validate(openapi3.NewLoader().Context); err != nil {
		return nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	return loaded, nil
}

func described(s *openapi3.Schema, desc string) *openapi3.SchemaRef {
	s.Description = desc
	return s.NewRef()
}

func errorName(status int) string {
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// tag groups operations by the path's first segment after /api/v1/.
func tag(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	first, _, _ := strings.Cut(rest, "/")
	return first
}

// operationID is e.g. "post_items_id_approve".
func operationID(method, path string) string {
	id := strings.ToLower(method) + "_" + strings.TrimPrefix(path, "/api/v1/")
	return strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_").Replace(id)
}

// typeName names a component schema after its package and type
// ("content.Item"): several packages have a Stats.
func typeName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	pkg := t.PkgPath()
	return pkg[strings.LastIndex(pkg, "/")+1:] + "." + t.Name()
}

// nullableLikeJSON marks slices and maps nullable: encoding/json writes
// a nil one as null.
func nullableLikeJSON(_ string, t reflect.Type, _ reflect.StructTag, s *openapi3.Schema) error {
	switch t.Kind() {
	case reflect.Slice, reflect.Map:
		s.Nullable = true
	}
	return nil
}

// openAPIDoc is the served document, built once.
var openAPIDoc = sync.OnceValues(func() ([]byte, error) {
	doc, err := BuildOpenAPI()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
})

// serveOpenAPI answers GET /api/v1/openapi.json, without authentication.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	raw, err := openAPIDoc()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(raw)
}
