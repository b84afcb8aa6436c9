package status

import (
	"slices"
	"strings"
	"time"

	"github.com/presenced/presenced/presence"
)

// Catalog is the set of custom statuses, indexed by id and by name key.
type Catalog struct {
	byID  map[string]Custom
	byKey map[string]string // Key(name) -> id
}

// NewCatalog returns a catalog holding list. Later duplicates of a name are
// dropped, so a catalog is always consistent whatever a store returned.
func NewCatalog(list []Custom) *Catalog {
	c := &Catalog{byID: make(map[string]Custom, len(list)), byKey: make(map[string]string, len(list))}
	for _, cs := range list {
		if !c.Taken(cs.Name, cs.ID) {
			c.Put(cs)
		}
	}
	return c
}

// Len is the number of statuses.
func (c *Catalog) Len() int { return len(c.byID) }

// Get returns the status with this id.
func (c *Catalog) Get(id string) (Custom, bool) {
	cs, ok := c.byID[id]
	return cs, ok
}

// Taken reports whether a status other than the one with id exceptID holds
// name, in any letter case.
func (c *Catalog) Taken(name, exceptID string) bool {
	id, ok := c.byKey[Key(name)]
	return ok && id != exceptID
}

// Put adds cs, or replaces the status with its id. The caller checks Taken
// first.
func (c *Catalog) Put(cs Custom) {
	if old, ok := c.byID[cs.ID]; ok {
		delete(c.byKey, Key(old.Name))
	}
	c.byID[cs.ID] = cs
	c.byKey[Key(cs.Name)] = cs.ID
}

// Delete removes the status with this id and returns it.
func (c *Catalog) Delete(id string) (Custom, bool) {
	cs, ok := c.byID[id]
	if ok {
		delete(c.byID, id)
		delete(c.byKey, Key(cs.Name))
	}
	return cs, ok
}

// All returns every status, sorted by name.
func (c *Catalog) All() []Custom {
	items, _ := c.Search("", 0, len(c.byID))
	return items
}

// Search returns the page [offset, offset+limit) of the statuses whose name
// contains query case-insensitively, sorted by name (case-insensitively, then
// by id so the order is total), and how many match in all.
func (c *Catalog) Search(query string, offset, limit int) (items []Custom, total int) {
	q := Key(query)
	var match []Custom
	for _, cs := range c.byID {
		if strings.Contains(Key(cs.Name), q) {
			match = append(match, cs)
		}
	}
	slices.SortFunc(match, func(a, b Custom) int {
		if r := strings.Compare(Key(a.Name), Key(b.Name)); r != 0 {
			return r
		}
		return strings.Compare(a.ID, b.ID)
	})
	total = len(match)
	if offset >= total {
		return []Custom{}, total
	}
	return match[offset:min(total, offset+limit)], total
}

// Holding is what a user holds of a chosen status: the manual status, text,
// the custom id it came from, and when it ends.
type Holding struct {
	Manual presence.Status
	Text   string
	Custom string    // "" when the status is not a custom one
	Until  time.Time // when the choice expires; zero: never
}

// Follow returns what a holder of h holds once the catalog is as c is now:
// a holder of a status that was renamed or re-tied takes its new name and
// presence; a holder of a deleted one keeps the presence and loses the text
// and the custom id. Either way the choice ends when it was going to: a
// new default duration applies to new picks only. Holdings that are not
// custom are returned unchanged.
func (c *Catalog) Follow(h Holding) Holding {
	if h.Custom == "" {
		return h
	}
	cs, ok := c.byID[h.Custom]
	if !ok {
		return Holding{Manual: h.Manual, Until: h.Until}
	}
	return Holding{Manual: cs.Presence, Text: cs.Name, Custom: cs.ID, Until: h.Until}
}
