package pgo

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTag(t *testing.T) {
	for _, tag := range []string{"svc", "a", "Svc.v1_x-y", "0", strings.Repeat("x", 128), "..", "-"} {
		if err := ValidateTag(tag); err != nil {
			t.Errorf("ValidateTag(%q) = %v, want nil", tag, err)
		}
	}
	for _, tag := range []string{"", strings.Repeat("x", 129), "a/b", "a b", "svc?x=1", "café", "a\x00", "a@sha", "%41"} {
		err := ValidateTag(tag)
		if !errors.Is(err, ErrInvalidTag) {
			t.Errorf("ValidateTag(%q) = %v, want ErrInvalidTag", tag, err)
		}
	}
}
