package blockpage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// csrf makes and checks the request form's tokens: an HMAC of the client
// address, the blocked name and when the form was shown, under a secret
// of this process. A form posted from another site, for another client or
// name, or older than csrfMaxAge is refused.
type csrf struct{ secret [32]byte }

const csrfMaxAge = 2 * time.Hour

func newCSRF() *csrf {
	c := &csrf{}
	rand.Read(c.secret[:])
	return c
}

func (c *csrf) mac(client, name string, issued int64) string {
	h := hmac.New(sha256.New, c.secret[:])
	h.Write([]byte(client + "\x00" + name + "\x00" + strconv.FormatInt(issued, 10)))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (c *csrf) token(client, name string, now time.Time) string {
	issued := now.Unix()
	return strconv.FormatInt(issued, 36) + "." + c.mac(client, name, issued)
}

func (c *csrf) valid(token, client, name string, now time.Time) bool {
	ts, sum, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	issued, err := strconv.ParseInt(ts, 36, 64)
	if err != nil {
		return false
	}
	age := now.Sub(time.Unix(issued, 0))
	if age < -time.Minute || age > csrfMaxAge {
		return false
	}
	return hmac.Equal([]byte(sum), []byte(c.mac(client, name, issued)))
}
