package hub

import (
	"fmt"
	"slices"
	"testing"
)

// TestChunkAcks: a round of more users than one PutUsers takes answers
// each waiting command after the chunk that writes its user, in the order
// the commands came.
func TestChunkAcks(t *testing.T) {
	users := map[string]pendingUser{"a": {chunk: 0}, "b": {chunk: 2}, "c": {chunk: 0}, "d": {chunk: 1}}
	var waiting []waitingAck
	for i, u := range []string{"b", "a", "d", "b", "c", "a"} {
		waiting = append(waiting, waitingAck{user: u, ack: savedAck{r: reply{seq: uint64(i)}}})
	}
	got := chunkAcks(users, waiting, 3)
	var seqs [][]string
	for _, acks := range got {
		var s []string
		for _, wa := range acks {
			s = append(s, fmt.Sprintf("%s%d", wa.user, wa.ack.r.seq))
		}
		seqs = append(seqs, s)
	}
	want := [][]string{{"a1", "c4", "a5"}, {"d2"}, {"b0", "b3"}}
	if !slices.EqualFunc(seqs, want, slices.Equal) {
		t.Errorf("chunkAcks = %v, want %v", seqs, want)
	}
	if got := chunkAcks(nil, nil, 0); got != nil {
		t.Errorf("chunkAcks of an empty round = %v, want nil", got)
	}
}
