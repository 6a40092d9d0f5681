// Package directory signs directors in against the city's LDAP directory
// or Active Directory: find the user with the service account, bind as
// the user with the password typed, and read the groups the user is a
// member of, nested groups included. The console maps those groups to
// [[director]] entries.
package directory
