// Package devices identifies roaming city devices by token: a laptop,
// tablet or patrol-car modem that leaves the city network keeps its
// department's policy because its DoH URL (https://NAME/dns-query/TOKEN)
// or its DoT/DoQ server name (TOKEN.NAME) carries a token the resolver
// knows. Only a hash of the token is ever stored (in the state store,
// shared by every instance); the token itself is shown once, when the
// device is enrolled.
package devices
