package web

import "testing"

// Every close reason has its row: a metric label of its own, and a code
// with a text when the server sends one.
func TestCloseReasonsTable(t *testing.T) {
	labels := map[string]closeReason{}
	for r := closeUnauthorized; r <= closeByClient; r++ {
		row := closeReasons[r]
		if row.metric == "" {
			t.Errorf("reason %d has no metric label", r)
		}
		if prev, dup := labels[row.metric]; dup {
			t.Errorf("reasons %d and %d share the label %q", prev, r, row.metric)
		}
		labels[row.metric] = r
		if (row.code == 0) != (row.text == "") {
			t.Errorf("reason %q: code %d with text %q", row.metric, row.code, row.text)
		}
	}
	if n := len(closeReasons) - 1; n != int(closeByClient) {
		t.Errorf("%d rows for %d reasons", n, closeByClient)
	}
}
