package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/wneessen/go-mail"
)

// sendTimeout bounds one delivery.
const sendTimeout = 30 * time.Second

// sendMail hands a message to the mail relay of [notify]: STARTTLS
// (required) on host:port, or implicit TLS on smtps://; AUTH when a
// username is set. paths resolves a configured path.
func sendMail(ctx context.Context, n config.Notify, paths func(string) string, m *Message) error {
	hostport := strings.TrimPrefix(n.SMTP, "smtps://")
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	port, _ := strconv.Atoi(portText)
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if n.CACert != "" {
		pem, err := os.ReadFile(paths(n.CACert))
		if err != nil {
			return fmt.Errorf("notify.ca_cert: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		tc.RootCAs.AppendCertsFromPEM(pem)
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTLSConfig(tc), mail.WithTimeout(sendTimeout)}
	if strings.HasPrefix(n.SMTP, "smtps://") {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	}
	if n.Username != "" {
		pw, err := os.ReadFile(paths(n.PasswordFile))
		if err != nil {
			return fmt.Errorf("notify.password_file: %w", err)
		}
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(n.Username), mail.WithPassword(strings.TrimRight(string(pw), "\r\n")))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(n.From); err != nil {
		return err
	}
	if err := msg.To(m.To...); err != nil {
		return err
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@civicdns")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	if err := c.DialWithContext(ctx); err != nil {
		return err
	}
	if err := c.Send(msg); err != nil {
		c.Close()
		return err
	}
	// The relay accepted the message: a QUIT that fails afterwards (the
	// relay closing, going down) does not make it undelivered, and
	// sending it again would mail it twice.
	c.Close()
	return nil
}

// postWebhook POSTs the event's JSON, signed: X-Civicdns-Signature is
// sha256= and the HMAC-SHA256 of the body with the webhook secret.
func postWebhook(ctx context.Context, n config.Notify, paths func(string) string, m *Message) error {
	secret, err := os.ReadFile(paths(n.WebhookSecretFile))
	if err != nil {
		return fmt.Errorf("notify.webhook_secret_file: %w", err)
	}
	mac := hmac.New(sha256.New, bytes.TrimRight(secret, "\r\n"))
	mac.Write(m.JSON)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Webhook, bytes.NewReader(m.JSON))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Civicdns-Event", m.Event)
	req.Header.Set("X-Civicdns-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := (&http.Client{Timeout: sendTimeout}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: HTTP %s", resp.Status)
	}
	return nil
}
