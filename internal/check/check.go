// Package check holds the small validity rules that several packages of
// the suite apply at construction or at a store's door, written once.
package check

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Nil reports whether v is nil, or a nil pointer, func, map, slice, chan
// or interface inside an interface, whose methods would panic: what a
// constructor refuses in a list of hooks (authenticators, verifiers).
func Nil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// UserID returns why a store cannot keep the user id id ("empty", "not
// valid UTF-8"…), or "" when it can: 1 to max bytes of UTF-8 without a
// NUL byte. Each store wraps the reason in its own ErrInvalidUserID.
func UserID(id string, max int) string {
	switch {
	case id == "":
		return "empty"
	case len(id) > max:
		return fmt.Sprintf("%d bytes, more than %d", len(id), max)
	case !utf8.ValidString(id):
		return "not valid UTF-8"
	case strings.IndexByte(id, 0) >= 0:
		return "holds a NUL byte"
	}
	return ""
}
