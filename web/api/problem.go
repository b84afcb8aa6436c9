package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// Problem is an error answer: RFC 9457 problem details, with the
// protocol's error code beside the HTTP status.
type Problem struct {
	Title  string              `json:"title" doc:"The HTTP status, in words."`
	Status int                 `json:"status" doc:"The HTTP status code."`
	Detail string              `json:"detail" doc:"What went wrong, as a sentence."`
	Code   string              `json:"code" enum:"bad_request,unauthorized,forbidden,not_found,conflict,over_limit,rate_limited,unavailable,internal" doc:"The protocol's error code."`
	Errors []*huma.ErrorDetail `json:"errors,omitempty" doc:"Each field that failed validation, where the request's shape was wrong."`
}

func (p *Problem) Error() string  { return p.Code + ": " + p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma answer problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// problem returns a problem with code and the status the protocol gives it.
func problem(code, detail string) *Problem {
	st := statusOf(code)
	return &Problem{Title: http.StatusText(st), Status: st, Detail: detail, Code: code}
}

// statuses pairs the protocol's error codes with their HTTP statuses,
// both ways: statusOf reads it by code, codeOf by status (the first code
// of a status wins: 409 is conflict).
var statuses = []struct {
	code   string
	status int
}{
	{wire.CodeBadRequest, http.StatusBadRequest},
	{wire.CodeUnauthorized, http.StatusUnauthorized},
	{wire.CodeForbidden, http.StatusForbidden},
	{wire.CodeNotFound, http.StatusNotFound},
	{wire.CodeConflict, http.StatusConflict},
	{wire.CodeOverLimit, http.StatusConflict},
	{wire.CodeRateLimited, http.StatusTooManyRequests},
	{wire.CodeUnavailable, http.StatusServiceUnavailable},
}

// statusOf is the HTTP status of a protocol error code.
func statusOf(code string) int {
	for _, s := range statuses {
		if s.code == code {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// codeOf is the protocol error code of an HTTP status: internal for
// another 5xx, bad_request for another 4xx.
func codeOf(status int) string {
	for _, s := range statuses {
		if s.status == status {
			return s.code
		}
	}
	if status >= 500 {
		return wire.CodeInternal
	}
	return wire.CodeBadRequest
}

// fromHub is the problem of a refused hub command.
func fromHub(e *hub.Error) *Problem { return problem(e.Code, e.Message) }

// fromWire is the problem of input the socket's decoder refused.
func fromWire(err error) *Problem {
	if we, ok := errors.AsType[*wire.Error](err); ok {
		return problem(we.Code, we.Message)
	}
	return problem(wire.CodeBadRequest, err.Error())
}

// init makes huma's own errors (a malformed body, a missing parameter, an
// unknown field, a body over the limit) problems with a protocol code too.
// huma.NewError is huma's documented hook for its error type, and a
// package variable: this package is the only huma API in the binary.
func init() {
	huma.NewError = newHumaError
}

// newHumaError is huma.NewError for this API. huma answers a request that
// fails its schema with 422; the protocol calls that bad_request, 400.
func newHumaError(status int, msg string, errs ...error) huma.StatusError {
	if status == http.StatusUnprocessableEntity {
		status = http.StatusBadRequest
	}
	code := codeOf(status)
	p := &Problem{Title: http.StatusText(status), Status: status, Detail: msg, Code: code}
	var parts []string
	for _, err := range errs {
		if err == nil {
			continue
		}
		// Not the value: it can be the whole body.
		d := &huma.ErrorDetail{Message: err.Error()}
		if hd, ok := err.(huma.ErrorDetailer); ok {
			d = &huma.ErrorDetail{Message: hd.ErrorDetail().Message, Location: hd.ErrorDetail().Location}
		}
		p.Errors = append(p.Errors, d)
		if d.Location != "" {
			parts = append(parts, d.Message+" ("+d.Location+")")
		} else {
			parts = append(parts, d.Message)
		}
	}
	if len(parts) > 0 {
		p.Detail = msg + ": " + strings.Join(parts, "; ")
	}
	return p
}

// writeProblem answers w with p, outside huma (before an operation runs,
// or for a path that has none).
func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}
