// Package blocklists reads category lists — TOML files naming a category
// with its own block and allow entries and imports of third-party lists in
// hosts, plain-domain or Adblock format — and compiles every category into
// one compact Matcher that answers, for a name and each of its parent
// domains at once, which categories list it and where.
package blocklists
