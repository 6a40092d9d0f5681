// Package pgtest runs a throwaway PostgreSQL cluster for tests: Debian's
// postgresql binaries, a data folder of its own, a free port on 127.0.0.1,
// trust authentication, removed at the end. `make test` installs
// postgresql when it is missing; a test that needs it fails without it.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running PostgreSQL.
type Cluster struct {
	bin    string
	dir    string
	port   int
	uid    int // the user it runs as when the tests run as root
	gid    int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has ended
}

// bindir finds the newest installed PostgreSQL's programs.
func bindir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server found (apt-get install postgresql; make test installs it)")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start initialises and starts a cluster; it is stopped and removed when tb ends.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := bindir()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "civicdns-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	c := &Cluster{bin: bin, dir: dir, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as Debian's postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root needs the postgres user (apt-get install postgresql): %v", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		os.Chmod(dir, 0o755)
		os.Chown(dir, c.uid, c.gid)
	}
	if out, err := c.command("initdb", "-D", c.data(), "-U", "civicdns", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		tb.Fatal(err)
	}
	c.Restart(tb)
	tb.Cleanup(c.Stop)
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) command(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	if c.uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// DSN is a connection string to the cluster's postgres database.
func (c *Cluster) DSN() string {
	return fmt.Sprintf("postgres://civicdns@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Restart starts the server (again) and waits until it takes connections.
// A server killed a moment ago may leave backends that still hold its
// shared memory: a start that exits at once is tried again.
func (c *Cluster) Restart(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := c.command("postgres", "-D", c.data(), "-p", strconv.Itoa(c.port), "-c", "listen_addresses=127.0.0.1",
			"-k", c.dir, "-c", "fsync=off", "-c", "max_connections=50")
		logFile, _ := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			tb.Fatalf("postgres: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		c.cmd = cmd
		for {
			select {
			case <-exited:
				logFile.Close()
				if time.Now().After(deadline) {
					out, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
					tb.Fatalf("postgres exited at start:\n%s", out)
				}
				time.Sleep(200 * time.Millisecond) // the old backends are on their way out
			default:
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				conn, err := pgx.Connect(ctx, c.DSN())
				cancel()
				if err == nil {
					conn.Close(context.Background())
					c.exited = exited
					return
				}
				if time.Now().After(deadline) {
					out, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
					tb.Fatalf("postgres did not start: %v\n%s", err, out)
				}
				time.Sleep(50 * time.Millisecond) // polling the server's readiness
				continue
			}
			break
		}
	}
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (c *Cluster) Kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Kill()
		<-c.exited
		// The children of a killed postmaster end when they notice; wait for the port.
		for i := 0; i < 200; i++ {
			if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.port), 50*time.Millisecond); err != nil {
				break
			} else {
				conn.Close()
			}
			time.Sleep(25 * time.Millisecond) // polling for the port to close
		}
	}
	c.cmd = nil
}

// Stop shuts the server down.
func (c *Cluster) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
		}
	}
	c.cmd = nil
}
