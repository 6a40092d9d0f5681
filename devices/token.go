package devices

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// tokenBytes is a token's randomness: 128 bits, not guessable by anyone
// who can reach the resolver from the Internet.
const tokenBytes = 16

// TokenLen is a token's length in characters: 26 lower-case base-32
// characters (a-z, 2-7), so that it is one DNS label (TOKEN.NAME for DoT
// and DoQ) and one URL path segment alike.
const TokenLen = 26

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken returns a new random token.
func NewToken() string {
	var b [tokenBytes]byte
	rand.Read(b[:])
	return encoding.EncodeToString(b[:])
}

// Key is what is kept of a token: its SHA-256. A token carries 128 random
// bits, so a fast hash is enough (nothing to guess a dictionary from), and
// a lookup costs one hash, not a password hash's hundred milliseconds.
type Key [sha256.Size]byte

// KeyOf is the key of a token.
func KeyOf(token string) Key { return sha256.Sum256([]byte(token)) }

// String is the key in hexadecimal, as the state store keeps it.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ParseKey reads a key written by String.
func ParseKey(s string) (Key, bool) {
	var k Key
	if len(s) != 2*len(k) {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(s))
	return k, err == nil
}

// IsZero reports whether k is no key (the query carried no token).
func (k Key) IsZero() bool { return k == Key{} }

// WellFormed reports whether s could be a token: its length and alphabet.
// Anything else in a path or a server name is not a token at all (an
// unknown token of the right form is refused; see FromServerName).
func WellFormed(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// FromServerName is the token of a DoT or DoQ client's TLS server name
// (SNI) TOKEN.NAME, where name is [server] name; ok is false when the
// server name is not of that form (the client asked for NAME itself, an
// address, or nothing: it is identified by its address). Case does not
// matter in a DNS name; the token is lower case.
func FromServerName(serverName, name string) (token string, ok bool) {
	if name == "" || len(serverName) != TokenLen+1+len(name) {
		return "", false
	}
	token, rest := serverName[:TokenLen], serverName[TokenLen:]
	if rest[0] != '.' || !strings.EqualFold(rest[1:], name) {
		return "", false
	}
	token = strings.ToLower(token)
	return token, WellFormed(token)
}
