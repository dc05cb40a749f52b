package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/segment"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
	"github.com/zengcheng-kexie/kepubot/scheduler/jobs"
)

// fullAPI is an admin API with every area registered, as cmd/kepubot
// does: real stores where a test makes requests (users, audit, content,
// segments), zero values elsewhere (registration dereferences nothing).
type fullAPI struct {
	s      *admin.Server
	rdb    redis.UniversalClient
	editor string // an editor's token
}

func newFullAPI(t *testing.T) *fullAPI {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Start(t)
	tax, err := taxonomy.Default()
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	users := admin.NewUsers(rdb)
	s := admin.NewServer(admin.BootstrapAdmin(bootToken, users), nil)
	s.SetAccounts([]string{"default"})
	admin.RegisterUsers(s, users)
	admin.RegisterAccounts(s, admin.AccountDeps{List: func(context.Context) ([]admin.AccountInfo, error) { return nil, nil },
		Add: func(context.Context, admin.AccountInput) (admin.AccountInfo, error) {
			return admin.AccountInfo{}, admin.ErrConflict
		}})
	admin.RegisterAudit(s, admin.NewAuditLog(rdb, nil))
	admin.RegisterContent(s, admin.ContentDeps{Store: content.NewStore(rdb, nil), Vocab: taxVocab{tax}})
	admin.RegisterSegments(s, admin.SegmentDeps{Profiles: profiles, Tax: tax, Segments: segment.NewStore(rdb, tax),
		Now: time.Now, Loc: time.UTC})
	admin.RegisterSubscribers(s, profiles)
	admin.RegisterQRCodes(s, admin.QRCodeDeps{Tax: tax})
	admin.RegisterQuiz(s, admin.QuizDeps{Campaigns: &campaign.Engine{}, Tax: tax})
	admin.RegisterSignups(s, admin.SignupDeps{})
	admin.RegisterCampaigns(s, admin.CampaignDeps{})
	admin.RegisterJobs(s, admin.JobDeps{Programmes: &jobs.Programmes{}, TagSync: &jobs.TagSync{}})
	admin.RegisterDemand(s, admin.DemandDeps{Log: demand.New(rdb, time.UTC), Tax: tax})
	admin.RegisterAlerts(s, nil)
	admin.RegisterCalendar(s, nil)
	nu, err := users.Create(ctx, "editor", admin.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &fullAPI{s: s, rdb: rdb, editor: nu.Token}
}

// registeredAreas are the Register functions newFullAPI calls; keep it in
// step with the calls above (TestEveryAreaRegistered checks the package
// has no other).
var registeredAreas = []string{"RegisterUsers", "RegisterAccounts", "RegisterAudit", "RegisterContent", "RegisterSegments",
	"RegisterSubscribers", "RegisterQRCodes", "RegisterQuiz", "RegisterSignups", "RegisterCampaigns",
	"RegisterJobs", "RegisterDemand", "RegisterAlerts", "RegisterCalendar"}

// A new area's routes are only checked against the document if
// newFullAPI registers the area: every exported Register function of the
// package must be in registeredAreas.
func TestEveryAreaRegistered(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Register") || !fn.Name.IsExported() {
				continue
			}
			if !slices.Contains(registeredAreas, fn.Name.Name) {
				t.Errorf("%s (%s) is not called by newFullAPI: its routes escape the OpenAPI check", fn.Name.Name, name)
			}
		}
	}
}

// served fetches the document as a client would: without a token.
func (a *fullAPI) served(t *testing.T) ([]byte, *openapi3.T) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.s.ServeHTTP(rec, httptest.NewRequest("GET", admin.OpenAPIPath, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s = %d %q, want 200 JSON", admin.OpenAPIPath, rec.Code, rec.Header().Get("Content-Type"))
	}
	raw := rec.Body.Bytes()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the served document is invalid: %v", err)
	}
	return raw, doc
}

// TestOpenAPI: the served document describes exactly the registered
// routes, with the roles given to Handle, and is valid OpenAPI.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	api := newFullAPI(t)
	raw, doc := api.served(t)

	// Round trip: what kin-openapi reads back marshals to the same JSON.
	again, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the served document does not round-trip through openapi3.T")
	}

	registered := map[string][]admin.Role{}
	deployment := map[string]bool{}
	for _, r := range api.s.Routes() {
		if _, dup := registered[r.Pattern]; dup {
			t.Errorf("route %q registered twice", r.Pattern)
		}
		registered[r.Pattern] = r.Roles
		deployment[r.Pattern] = r.Deployment
	}
	documented := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	var missing, extra []string
	for p := range registered {
		if documented[p] == nil {
			missing = append(missing, p)
		}
	}
	for p := range documented {
		if _, ok := registered[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("registered routes missing from the OpenAPI document (add them to apiDocs in bot/admin/openapi.go):\n\t%s",
			strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("OpenAPI document routes that no Register* function registers:\n\t%s", strings.Join(extra, "\n\t"))
	}
	if len(registered) < 60 {
		t.Errorf("%d routes registered, want every area's (60 or more)", len(registered))
	}

	for p, roles := range registered {
		op := documented[p]
		if op == nil {
			continue
		}
		if op.Summary == "" {
			t.Errorf("%s has no summary", p)
		}
		if op.Security != nil && len(*op.Security) == 0 {
			if p != "GET "+admin.OpenAPIPath {
				t.Errorf("%s is documented as public", p)
			}
			continue
		}
		var docRoles []string
		if raw, ok := op.Extensions["x-roles"].([]any); ok {
			for _, r := range raw {
				docRoles = append(docRoles, r.(string))
			}
		}
		wantRoles := []string{"admin"}
		for _, r := range roles {
			if r != admin.RoleAdmin {
				wantRoles = append(wantRoles, string(r))
			}
		}
		slices.Sort(docRoles)
		slices.Sort(wantRoles)
		if !slices.Equal(docRoles, wantRoles) {
			t.Errorf("%s: x-roles %v, but Handle allows %v", p, docRoles, wantRoles)
		}
		if got := op.Extensions["x-deployment"] == true; got != deployment[p] {
			t.Errorf("%s: x-deployment %v, but it is registered as a deployment route: %v", p, got, deployment[p])
		}
		if op.Responses.Value("401") == nil || op.Responses.Value("403") == nil {
			t.Errorf("%s documents no 401 or 403", p)
		}
		method, path, _ := strings.Cut(p, " ")
		for _, name := range []string{"id", "name", "openid", "segment"} {
			if strings.Contains(path, "{"+name+"}") && op.Parameters.GetByInAndName("path", name) == nil {
				t.Errorf("%s %s: no path parameter %s", method, path, name)
			}
		}
	}
	// Account-scoped routes say so.
	if op := documented["GET /api/v1/items"]; op == nil || op.Parameters.GetByInAndName("query", "account") == nil {
		t.Errorf("GET /api/v1/items documents no account parameter")
	}
	// The error shape.
	errSchema := doc.Components.Schemas["Error"]
	if errSchema == nil || errSchema.Value.Properties["error"] == nil || errSchema.Value.Properties["fields"] == nil ||
		errSchema.Value.Properties["position"] == nil {
		t.Errorf("components.schemas.Error = %v, want {error, fields, position}", errSchema)
	}
}

// exchange is one request to the API checked against the document: the
// request, then the answer, with openapi3filter.
type exchange struct {
	name   string
	method string
	path   string
	token  string
	body   string
	want   int
}

func TestOpenAPIAnswers(t *testing.T) {
	t.Parallel()
	api := newFullAPI(t)
	_, doc := api.served(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	item := mustJSON(t, litchiItem())
	var itemID string
	for _, ex := range []exchange{
		{"create an item", "POST", "/api/v1/items", api.editor, item, 201},
		{"read it", "GET", "/api/v1/items/{item}", api.editor, "", 200},
		{"submit it without a body", "POST", "/api/v1/items/{item}/submit", api.editor, "", 200},
		{"list items", "GET", "/api/v1/items?status=in_review&limit=5", api.editor, "", 200},
		{"preview", "POST", "/api/v1/segments/preview?account=default", api.editor, `{"expr": "group:farmer & town:paitan", "cross": true}`, 200},
		{"preview a bad expression", "POST", "/api/v1/segments/preview", api.editor, `{"expr": "(group:farmer"}`, 400},
		{"an editor saves a segment", "POST", "/api/v1/segments", api.editor, `{"name": "x", "expr": "all"}`, 403},
		{"no token", "GET", "/api/v1/items", "", "", 401},
		{"a taken name", "POST", "/api/v1/users", bootToken, `{"name": "Editor", "role": "viewer"}`, 409},
		{"users", "GET", "/api/v1/users", bootToken, "", 200},
		{"audit", "GET", "/api/v1/audit?limit=2", bootToken, "", 200},
		{"count", "GET", "/api/v1/subscribers/count", api.editor, "", 200},
		{"no such item", "GET", "/api/v1/items/nope", api.editor, "", 404},
	} {
		ex.path = strings.ReplaceAll(ex.path, "{item}", itemID)
		body := api.check(t, router, ex)
		if ex.name == "create an item" {
			var it struct{ ID string }
			if err := json.Unmarshal(body, &it); err != nil || it.ID == "" {
				t.Fatalf("POST /api/v1/items answered %s", body)
			}
			itemID = it.ID
		}
	}

	// The validator is not vacuous: a wrong answer fails.
	req := httptest.NewRequest("GET", "/api/v1/subscribers/count", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	for status, body := range map[int]string{200: `{"reachable": "many"}`, 403: `{"error": 403}`} {
		err := openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body))})
		if err == nil {
			t.Errorf("ValidateResponse(%d %s) = nil, want an error", status, body)
		}
	}
}

// check makes the request, validates it and its answer against the
// document, and returns the answer's body.
func (a *fullAPI) check(t *testing.T, router routers.Router, ex exchange) []byte {
	t.Helper()
	newReq := func() *http.Request {
		var body io.Reader
		if ex.body != "" {
			body = strings.NewReader(ex.body)
		}
		r := httptest.NewRequest(ex.method, ex.path, body)
		if ex.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if ex.token != "" {
			r.Header.Set("Authorization", "Bearer "+ex.token)
		}
		return r
	}
	req := newReq()
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s: %s %s is not in the document: %v", ex.name, ex.method, ex.path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if ex.want < 400 || ex.want == 409 {
		if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
			t.Errorf("%s: the request does not match the document: %v", ex.name, err)
		}
	}
	rec := httptest.NewRecorder()
	a.s.ServeHTTP(rec, newReq())
	body := rec.Body.Bytes()
	if rec.Code != ex.want {
		t.Fatalf("%s: %s %s = %d %s, want %d", ex.name, ex.method, ex.path, rec.Code, body, ex.want)
	}
	err = openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}})
	if err != nil {
		t.Errorf("%s: the answer %d does not match the document: %v\n%s", ex.name, rec.Code, err, body)
	}
	// And it has no field the document leaves out.
	var v any
	if len(body) > 0 && json.Unmarshal(body, &v) == nil {
		status := route.Operation.Responses.Status(rec.Code)
		if status != nil && status.Value != nil && status.Value.Content.Get("application/json") != nil {
			for _, f := range undocumented(status.Value.Content.Get("application/json").Schema, v, "") {
				t.Errorf("%s: the answer has field %s, which the document leaves out", ex.name, f)
			}
		}
	}
	return body
}

// undocumented lists the fields of v that schema does not declare, in
// objects whose properties it lists.
func undocumented(schema *openapi3.SchemaRef, v any, at string) []string {
	if schema == nil || schema.Value == nil {
		return nil
	}
	s := schema.Value
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if len(s.Properties) == 0 {
			return nil // a map: any keys
		}
		for k, x := range v {
			p, ok := s.Properties[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, undocumented(p, x, at+"."+k)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, undocumented(s.Items, x, at+"[]")...)
		}
	}
	return out
}
