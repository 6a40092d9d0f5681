package main

import (
	"os"
	"os/user"
	"strconv"
)

// serviceUser is the account the packaged service runs as.
const serviceUser = "civicdns"

// giveToServiceUser makes files made by root (ca init) readable by the
// service: the folder and the key go to the civicdns user when it
// exists. It says what it did, or what the admin must do, for the
// message after "mode 0600".
func giveToServiceUser(dir, key string) string {
	if os.Geteuid() != 0 {
		return ""
	}
	u, err := user.Lookup(serviceUser)
	if err != nil {
		return "; the service runs as civicdns: `chown civicdns: " + dir + " " + key + "` once the package is installed"
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if os.Chown(dir, uid, gid) != nil || os.Chown(key, uid, gid) != nil {
		return "; run `chown civicdns: " + dir + " " + key + "`: the service runs as civicdns"
	}
	return ", owned by civicdns, the service's user"
}
