// Package status owns custom statuses: admin-defined names tied to a presence
// value ("In a meeting" -> busy). It validates names, keeps the catalog with
// its search and paging, and decides what happens to the users holding a
// status when an admin changes or deletes it.
//
// It is pure: no goroutines, sockets or storage. A Catalog is not safe for
// concurrent use; the hub goroutine owns it.
package status
