package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Sign-in through an OpenID provider ([directory] oidc_issuer: Entra ID,
// Keycloak, Google Workspace): the authorization code flow with PKCE,
// state and nonce checked, the ID token verified (go-oidc), the groups
// from oidc_groups_claim mapped to [[director]] group entries as the
// directory's are. The refresh token is kept in memory only: a session
// is re-checked every recheckEvery by refreshing it and reading the
// groups again; where there is none (after a restart, on another
// instance) the session ends at its re-check and the director signs in
// again (the provider's own session makes that one click).

// oidcCookie carries the flow's state, nonce and PKCE verifier from the
// start to the callback (HttpOnly, SameSite=Lax: the callback is a
// top-level navigation from the provider).
const oidcCookie = "civicdns_oidc"

// oidcFlows holds the provider (discovered once per issuer) and the
// sessions' refresh tokens.
type oidcFlows struct {
	mu       sync.Mutex
	issuer   string
	provider *oidc.Provider
	refresh  map[string]string // by session token hash
}

// callbackURL is where the provider sends the browser back: this console,
// by the name the browser used (the Host check admits only its own).
func (s *Server) callbackURL(r *http.Request) string {
	scheme := "http"
	if s.viaTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/oidc/callback"
}

// oidcConfig is the provider and the client (redirect: "" outside a
// sign-in, for a refresh).
func (s *Server) oidcConfig(ctx context.Context, redirect string) (*oidc.Provider, *oauth2.Config, error) {
	d := s.state.Snapshot().Config.Directory
	s.oidc.mu.Lock()
	p := s.oidc.provider
	if s.oidc.issuer != d.OIDCIssuer {
		p = nil
	}
	s.oidc.mu.Unlock()
	if p == nil {
		var err error
		if p, err = oidc.NewProvider(ctx, d.OIDCIssuer); err != nil {
			return nil, nil, err
		}
		s.oidc.mu.Lock()
		s.oidc.issuer, s.oidc.provider = d.OIDCIssuer, p
		s.oidc.mu.Unlock()
	}
	secret, err := os.ReadFile(s.state.Snapshot().Config.Path(d.OIDCClientSecretFile))
	if err != nil {
		return nil, nil, err
	}
	return p, &oauth2.Config{ClientID: d.OIDCClientID, ClientSecret: strings.TrimSpace(string(secret)), Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"}}, nil
}

func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if !s.state.Snapshot().Config.Directory.OIDC() {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	_, conf, err := s.oidcConfig(ctx, s.callbackURL(r))
	if err != nil {
		s.log.Error("console: the OpenID provider cannot be reached", "err", err)
		s.renderSignin(w, http.StatusServiceUnavailable, "", "The city's sign-in service cannot be reached now. Local break-glass accounts still can sign in.")
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + verifier, Path: "/oidc/", MaxAge: 600,
		HttpOnly: true, Secure: s.viaTLS(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// errOIDC is a callback that does not belong to a flow this browser began.
var errOIDC = errors.New("the sign-in did not come back as it was sent: start again")

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	from := s.clientOf(r)
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/oidc/", MaxAge: -1, HttpOnly: true, Secure: s.viaTLS(r), SameSite: http.SameSiteLaxMode})
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id, refresh, err := s.oidcIdentity(ctx, r)
	if err != nil {
		s.refuse("(OpenID)", from, "sign-in-failed", err.Error(), false)
		s.renderSignin(w, http.StatusForbidden, "", "The sign-in through the city's account failed: "+err.Error())
		return
	}
	s.openSession(w, r, id, from, func(tokenHash string) {
		if refresh != "" {
			s.oidc.mu.Lock()
			s.oidc.refresh[tokenHash] = refresh
			s.oidc.mu.Unlock()
		}
	})
}

// oidcIdentity checks the callback (state, the code with the PKCE
// verifier, the ID token and its nonce) and maps the groups.
func (s *Server) oidcIdentity(ctx context.Context, r *http.Request) (identity, string, error) {
	var parts []string
	if c, err := r.Cookie(oidcCookie); err == nil {
		parts = strings.Split(c.Value, ".")
	}
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(r.URL.Query().Get("state"))) != 1 {
		return identity{}, "", errOIDC
	}
	if e := r.URL.Query().Get("error"); e != "" {
		return identity{}, "", errors.New("the provider said " + e)
	}
	p, conf, err := s.oidcConfig(ctx, s.callbackURL(r))
	if err != nil {
		return identity{}, "", err
	}
	tok, err := conf.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(parts[2]))
	if err != nil {
		return identity{}, "", errors.New("the code was refused")
	}
	claims, err := s.verifyIDToken(ctx, p, tok)
	if err != nil {
		return identity{}, "", err
	}
	if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(parts[1])) != 1 {
		return identity{}, "", errOIDC
	}
	id, err := s.oidcMapped(claims)
	return id, tok.RefreshToken, err
}

// idClaims are what an ID token says of the user.
type idClaims struct {
	Subject, Nonce, Name, Login, Email string
	Groups                             []string
}

func (s *Server) verifyIDToken(ctx context.Context, p *oidc.Provider, tok *oauth2.Token) (*idClaims, error) {
	raw, _ := tok.Extra("id_token").(string)
	d := s.state.Snapshot().Config.Directory
	idt, err := p.Verifier(&oidc.Config{ClientID: d.OIDCClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return nil, errors.New("the ID token does not verify")
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return nil, err
	}
	str := func(k string) string { v, _ := all[k].(string); return v }
	c := &idClaims{Subject: idt.Subject, Nonce: idt.Nonce, Name: str("name"), Login: str("preferred_username"), Email: str("email")}
	if list, ok := all[d.OIDCGroupsClaim].([]any); ok {
		for _, g := range list {
			if gs, ok := g.(string); ok {
				c.Groups = append(c.Groups, gs)
			}
		}
	}
	if c.Login == "" {
		c.Login = c.Email
	}
	if c.Name == "" {
		c.Name = c.Login
	}
	return c, nil
}

// oidcMapped is the identity an ID token's groups give.
func (s *Server) oidcMapped(c *idClaims) (identity, error) {
	cfg := s.state.Snapshot().Config
	d, ok := groupDirector(cfg, c.Groups)
	if !ok {
		return identity{}, errors.New(c.Name + " is in no group that directs a department in civicdns")
	}
	return identity{director: c.Name + " (" + c.Login + ")", department: d.Department, entry: groupEntryOf(d), dn: "oidc:" + c.Subject, role: d.Role, email: c.Email}, nil
}

// oidcStillGranted refreshes an OpenID session's tokens and maps its
// groups again (checked: it was asked). Without a refresh token here (the
// session was opened on another instance, or before a restart) the
// session lasts until recheckEvery after its sign-in; a refresh the
// provider refuses ends it; a provider that cannot be asked keeps it.
func (s *Server) oidcStillGranted(sess *session) (ok, checked bool) {
	h := tokenHash(sess.token)
	s.oidc.mu.Lock()
	rt := s.oidc.refresh[h]
	s.oidc.mu.Unlock()
	if rt == "" {
		return s.now().Before(sess.expires.Add(-sessionLife + recheckEvery)), false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, conf, err := s.oidcConfig(ctx, "")
	var tok *oauth2.Token
	if err == nil {
		tok, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	var refused *oauth2.RetrieveError
	switch {
	case errors.As(err, &refused):
		return false, true
	case err != nil:
		s.log.Warn("console: an OpenID session could not be re-checked; it goes on until it can be", "director", sess.director, "err", err)
		return true, false
	}
	claims, err := s.verifyIDToken(ctx, p, tok)
	if err != nil {
		return false, true
	}
	id, err := s.oidcMapped(claims)
	if err != nil || id.entry != sess.entry {
		return false, true
	}
	if tok.RefreshToken != "" {
		s.oidc.mu.Lock()
		s.oidc.refresh[h] = tok.RefreshToken
		s.oidc.mu.Unlock()
	}
	return true, true
}
