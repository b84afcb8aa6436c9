package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/presenced/presenced/web/wire"
)

// protocolRoutes is the protocol's table of the HTTP API.
var protocolRoutes = []string{
	"GET /api/v1/presence",
	"POST /api/v1/presence/query",
	"GET /api/v1/users/{id}",
	"PUT /api/v1/users/{id}/status",
	"PUT /api/v1/users/{id}/custom-status",
	"POST /api/v1/users/{id}/bye",
	"GET /api/v1/users/{id}/history",
	"GET /api/v1/stats",
	"PUT /api/v1/service",
	"GET /api/v1/statuses",
	"POST /api/v1/statuses",
	"GET /api/v1/statuses/{id}",
	"PATCH /api/v1/statuses/{id}",
	"DELETE /api/v1/statuses/{id}",
	"GET /api/v1/settings",
	"PUT /api/v1/settings",
	"GET /api/v1/openapi.json",
}

// TestOpenAPIDescribesWhatIsServed checks the document against the
// OpenAPI 3.1 schema, that it has every route of the protocol and that
// every route it has is served, and holds real answers of each endpoint,
// good and bad, to the schemas it gives for them.
func TestOpenAPIDescribesWhatIsServed(t *testing.T) {
	n := startNode(t, options{})
	a := n.ok(t, "GET", "/api/v1/openapi.json", "", nil, nil)
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	doc, err := libopenapi.NewDocument(a.body)
	if err != nil {
		t.Fatalf("parse the document: %v", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Errorf("OpenAPI version %q, want 3.1", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build the model: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document: %s: %s", e.Message, e.Reason)
		}
	}

	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, r := range protocolRoutes {
		if !documented[r] {
			t.Errorf("%s is not in the document", r)
		}
	}
	for r := range documented {
		method, path, _ := strings.Cut(r, " ")
		path = strings.ReplaceAll(path, "{id}", "x")
		got := n.do(t, method, path, apiKey, nil)
		if got.status == http.StatusMethodNotAllowed || strings.Contains(string(got.body), "no endpoint") {
			t.Errorf("%s is documented, not served: %d %s", r, got.status, got.body)
		}
	}
	if len(documented) != len(protocolRoutes) {
		t.Errorf("the document has %d routes, the protocol %d", len(documented), len(protocolRoutes))
	}

	// Real answers, each held to the document.
	check := func(method, path, tok, body string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, n.url+path, rd)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		// The validator matches the request's path against the servers,
		// which the document leaves out: the request as the document
		// sees it, relative.
		rel, _ := http.NewRequest(method, path, nil)
		if ok, verrs := v.ValidateHttpResponse(rel, resp); !ok {
			for _, e := range verrs {
				t.Errorf("%s %s answered %d %s: %s: %s", method, path, resp.StatusCode, b, e.Message, e.Reason)
			}
		}
	}
	alice := token(t, "alice", false)
	n.connect(t, "alice", false)
	check("GET", "/api/v1/presence?users=alice,nobody", alice, "")
	check("POST", "/api/v1/presence/query", apiKey, `{"users":["alice"]}`)
	check("GET", "/api/v1/users/alice", alice, "")
	check("GET", "/api/v1/users/"+strings.Repeat("x", wire.MaxUserIDLen+1), alice, "")
	check("PUT", "/api/v1/users/alice/status", alice, `{"status":"busy","text":"hi"}`)
	check("PUT", "/api/v1/users/bob/status", alice, `{"status":"busy"}`)
	check("PUT", "/api/v1/users/alice/status", apiKey, `{"status":"busy","extra":1}`)
	check("PUT", "/api/v1/users/alice/custom-status", apiKey, `{"custom":"nope"}`)
	check("POST", "/api/v1/users/alice/bye", apiKey, "")
	check("GET", "/api/v1/users/alice/history", apiKey, "")
	check("GET", "/api/v1/stats", apiKey, "")
	check("GET", "/api/v1/stats", "", "")
	check("PUT", "/api/v1/service", apiKey, `{"enabled":true}`)
	check("POST", "/api/v1/statuses", apiKey, `{"name":"Lunch","presence":"away"}`)
	check("POST", "/api/v1/statuses", apiKey, `{"name":"lunch","presence":"away"}`)
	check("GET", "/api/v1/statuses?query=lu", alice, "")
	check("GET", "/api/v1/statuses/nope", apiKey, "")
	check("PATCH", "/api/v1/statuses/nope", apiKey, `{"name":"x"}`)
	check("DELETE", "/api/v1/statuses/nope", apiKey, "")
	check("GET", "/api/v1/settings", apiKey, "")
	check("PUT", "/api/v1/settings", apiKey, `{"idle_limit_s":600}`)
	check("GET", "/api/v1/openapi.json", "", "")
	check("POST", "/api/v1/presence/query", apiKey, `{"users":["`+strings.Repeat("a", wire.MaxFrame)+`"]}`)
}
