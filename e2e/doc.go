// Package e2e holds the end-to-end tests that drive civicdns with real
// outside programs: headless Debian chromium (through chromedp) for the
// block page, the request form and the director console.
package e2e
