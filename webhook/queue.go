package webhook

// queue is a bounded FIFO of events that drops its oldest when full. Its
// storage grows by doubling up to the bound, so an idle sender holds little.
type queue struct {
	buf  []event // a ring: len(buf) is the capacity in use
	head int     // index of the oldest
	n    int
	max  int
}

func newQueue(max int) *queue { return &queue{buf: make([]event, min(max, 64)), max: max} }

// push appends e and reports whether the oldest event was dropped for it.
func (q *queue) push(e event) (dropped bool) {
	if q.n == len(q.buf) {
		if len(q.buf) == q.max {
			q.buf[q.head] = e
			q.head = (q.head + 1) % len(q.buf)
			return true
		}
		q.grow(min(2*len(q.buf), q.max))
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	return false
}

func (q *queue) grow(size int) {
	buf := make([]event, size)
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}

// oldest is the oldest event; the queue must not be empty.
func (q *queue) oldest() *event { return &q.buf[q.head] }

// take moves up to k of the oldest events into dst[:0] and returns it.
func (q *queue) take(dst []event, k int) []event {
	dst = dst[:0]
	for ; k > 0 && q.n > 0; k-- {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = event{} // let go of its strings
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	if q.n == 0 && len(q.buf) > 64 {
		q.buf, q.head = make([]event, 64), 0 // give a drained backlog back
	}
	return dst
}
