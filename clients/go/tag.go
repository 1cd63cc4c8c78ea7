package pgo

import (
	"errors"
	"fmt"
)

// MaxTagLength is the longest tag the gateway accepts.
const MaxTagLength = 128

// ErrInvalidTag is wrapped by the error returned for a tag that does not
// match [A-Za-z0-9._-]{1,128}. No request is sent for such a tag.
var ErrInvalidTag = errors.New("pgo: invalid tag")

// ValidateTag reports whether tag is acceptable to the gateway: 1 to 128
// characters from A-Z, a-z, 0-9, '.', '_' and '-'. The error wraps
// ErrInvalidTag.
func ValidateTag(tag string) error {
	if tag == "" {
		return fmt.Errorf("%w: empty; a tag is 1 to %d characters from [A-Za-z0-9._-]", ErrInvalidTag, MaxTagLength)
	}
	if len(tag) > MaxTagLength {
		return fmt.Errorf("%w: %d bytes long, the limit is %d", ErrInvalidTag, len(tag), MaxTagLength)
	}
	for i := 0; i < len(tag); i++ {
		if !tagByte(tag[i]) {
			return fmt.Errorf("%w %q: character %q at offset %d is not in [A-Za-z0-9._-]", ErrInvalidTag, tag, tag[i], i)
		}
	}
	return nil
}

func tagByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '.', c == '_', c == '-':
		return true
	}
	return false
}
