package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// openAPIOutput is the OpenAPI document, as bytes made once.
type openAPIOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// openAPI registers the operation that serves the document, then makes the
// document: after every other operation, and listing itself.
func (a *API) openAPI() ([]byte, error) {
	register(a, op{who: anyone, Operation: huma.Operation{
		OperationID: "openapi", Method: http.MethodGet, Path: "/openapi.json", Tags: []string{"meta"},
		Summary: "This API's OpenAPI 3.1 description", Description: "Generated from the operations that serve the API.",
		Responses: map[string]*huma.Response{"200": {
			Description: "An OpenAPI 3.1 document.",
			Content:     map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Type: huma.TypeObject}}},
		}},
	}}, func(context.Context, *struct{}) (*openAPIOutput, error) {
		return &openAPIOutput{ContentType: "application/json", Body: a.doc}, nil
	})
	// huma lists 422 for every operation with input; this API answers
	// those 400, as the protocol says.
	for _, item := range a.huma.OpenAPI().Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete} {
			if o != nil {
				delete(o.Responses, "422")
			}
		}
	}
	doc, err := json.Marshal(a.huma.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("api: make the OpenAPI document: %w", err)
	}
	return doc, nil
}
