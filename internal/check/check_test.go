package check

import (
	"strings"
	"testing"
)

type hook interface{ Do() }

type ptrHook struct{}

func (*ptrHook) Do() {}

type funcHook func()

func (f funcHook) Do() { f() }

type valueHook struct{}

func (valueHook) Do() {}

func TestNil(t *testing.T) {
	var nilPtr *ptrHook
	var nilFunc funcHook
	for _, tc := range []struct {
		name string
		v    hook
		want bool
	}{
		{"nil", nil, true},
		{"a nil pointer", nilPtr, true},
		{"a nil func", nilFunc, true},
		{"a pointer", &ptrHook{}, false},
		{"a func", funcHook(func() {}), false},
		{"a value", valueHook{}, false},
	} {
		if got := Nil(tc.v); got != tc.want {
			t.Errorf("%s: Nil = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUserID(t *testing.T) {
	for _, tc := range []struct {
		id, want string
	}{
		{"alice", ""},
		{strings.Repeat("a", 8), ""},
		{strings.Repeat("a", 9), "9 bytes, more than 8"},
		{"", "empty"},
		{"a\xffb", "not valid UTF-8"},
		{"a\x00b", "holds a NUL byte"},
		{"é", ""},
	} {
		if got := UserID(tc.id, 8); got != tc.want {
			t.Errorf("UserID(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
