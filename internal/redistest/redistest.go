// Package redistest starts real Redis topologies for tests, from Debian's
// redis-server and redis-sentinel binaries: one server, a master with a
// replica watched by three sentinels, and a Redis Cluster of masters with
// replicas. Every process listens on loopback on a free port, keeps its
// files in the test's temporary folder and is killed when the test ends.
//
// Without the binaries a test is skipped with a message naming the package
// to install, except under CI=true, where it fails: CI must run them.
//
// The timeouts are tight (a master is down after 1 s of silence) so that a
// failover takes seconds, not the production defaults' half a minute.
package redistest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testproc"
	"github.com/redis/go-redis/v9"
)

// startLimit bounds how long a process or a topology may take to come up.
const startLimit = 20 * time.Second

// Require skips t, or fails it under CI=true, unless every binary is on PATH.
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: CI must install it (apt-get install redis-server redis-sentinel)", b)
			}
			t.Skipf("%s is not installed; apt-get install redis-server redis-sentinel to run this test", b)
		}
	}
}

// Server is one redis-server (or redis-sentinel) process.
type Server struct {
	t    testing.TB
	Port int
	Dir  string // its working folder: data files, log, config
	bin  string
	args []string
	tls  *tls.Config // set: the port speaks TLS only
	cmd  *exec.Cmd
}

// StartServer starts a redis-server with append-only persistence (fsync
// every second, as docs/redis.md advises beside WAIT), plus args, which win
// over the defaults.
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	Require(t, "redis-server")
	return startServer(t, testproc.FreePort(t), args...)
}

func startServer(t testing.TB, port int, args ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{t: t, Port: port, Dir: dir, bin: "redis-server", args: append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--logfile", "redis.log", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
		// A replica syncs at once instead of after the default 5 s wait
		// for others to share its transfer.
		"--repl-diskless-sync-delay", "0",
	}, args...)}
	s.Start()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			s.dumpLog()
		}
	})
	return s
}

// StartTLSServer starts a redis-server that speaks TLS only, with a
// self-signed certificate for 127.0.0.1 made for the test. Its URL is
// rediss:// with skip_verify=true: the point is the transport, and a URL
// cannot name a CA file.
func StartTLSServer(t testing.TB) *Server {
	t.Helper()
	Require(t, "redis-server")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	writeSelfSigned(t, cert, key)
	port := testproc.FreePort(t)
	s := &Server{t: t, Port: port, Dir: dir, bin: "redis-server", tls: &tls.Config{InsecureSkipVerify: true}, args: []string{
		"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--logfile", "redis.log", "--save", "", "--appendonly", "no",
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-auth-clients", "no",
	}}
	s.Start()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			s.dumpLog()
		}
	})
	return s
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key, PEM.
func writeSelfSigned(t testing.TB, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "redistest"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// StartReplica starts a replica of master and waits until it is in sync.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	r := StartServer(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	waitFor(t, "replica in sync", func() error { return inSync(master) })
	return r
}

// client returns a client of the one process at addr. RESP2, whose replies
// to SENTINEL and ROLE are plain arrays; no retries, so a dead process
// answers at once.
func client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1, DialerRetries: 1})
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// URL is the server's redis:// URL, db 0 (rediss:// for a TLS server).
func (s *Server) URL() string {
	if s.tls != nil {
		return "rediss://" + s.Addr() + "/0?skip_verify=true"
	}
	return "redis://" + s.Addr() + "/0"
}

// Client returns a client of this server alone, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := s.newClient()
	s.t.Cleanup(func() { c.Close() })
	return c
}

func (s *Server) newClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), TLSConfig: s.tls, Protocol: 2, DisableIdentity: true, MaxRetries: -1, DialerRetries: 1})
}

// Start starts the process (again, after Kill or Stop) and waits until it
// answers PING.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Dir = s.Dir
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	c := s.newClient()
	defer c.Close()
	deadline := time.Now().Add(startLimit)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.dumpLog()
			s.t.Fatalf("%s on port %d did not answer within %v", s.bin, s.Port, startLimit)
		}
		// Process start-up has no event to wait on but the port.
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the process with SIGKILL, as a crash would, and reaps it.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop stops the process with SIGTERM (a clean shutdown) and reaps it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause stops the process (SIGSTOP) until Resume: alive to the kernel, its
// sockets open, answering nothing, as a hung server.
func (s *Server) Pause() { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (s *Server) Resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

func (s *Server) dumpLog() {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	s.t.Logf("last lines of %s on port %d:\n%s", s.bin, s.Port, strings.Join(lines[max(0, len(lines)-30):], "\n"))
}

// waitFor polls cond until it holds or startLimit passes.
func waitFor(t testing.TB, what string, cond func() error) {
	t.Helper()
	// Topology changes (a replica syncing, sentinels meeting) are
	// reported by nothing a client can wait on but INFO.
	testproc.Until(t, what, startLimit, cond)
}

// Sentinel is a master, one replica and three sentinels that watch them.
type Sentinel struct {
	Master    *Server
	Replica   *Server
	Sentinels []*Server
	// Name is the master's name in the sentinels' configuration.
	Name string
}

// StartSentinel starts a master, its replica and three sentinels (quorum 2,
// down after 1 s, failover timeout 3 s), and waits until every sentinel
// knows the replica and the other two, so that a failover can start as soon
// as the master dies.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	Require(t, "redis-server", "redis-sentinel")
	st := &Sentinel{Name: "presence"}
	st.Master = StartServer(t)
	st.Replica = StartReplica(t, st.Master)
	for range 3 {
		port := testproc.FreePort(t)
		dir := t.TempDir()
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile redis.log\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\n"+
			"sentinel failover-timeout %s 3000\n"+
			"sentinel parallel-syncs %s 1\n",
			port, dir, st.Name, st.Master.Port, st.Name, st.Name, st.Name)
		path := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{t: t, Port: port, Dir: dir, bin: "redis-sentinel", args: []string{path}}
		s.Start()
		t.Cleanup(func() {
			s.Kill()
			if t.Failed() {
				s.dumpLog()
			}
		})
		st.Sentinels = append(st.Sentinels, s)
	}
	for _, s := range st.Sentinels {
		c := s.Client()
		waitFor(t, "sentinels ready", func() error {
			m, err := c.Do(context.Background(), "sentinel", "master", st.Name).Slice()
			if err != nil {
				return err
			}
			info := map[string]string{}
			for i := 0; i+1 < len(m); i += 2 {
				info[fmt.Sprint(m[i])] = fmt.Sprint(m[i+1])
			}
			if info["num-slaves"] != "1" || info["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel on %d knows %s replicas and %s other sentinels", s.Port, info["num-slaves"], info["num-other-sentinels"])
			}
			return nil
		})
	}
	return st
}

// URL is the redis+sentinel:// URL of the master, db 0.
func (st *Sentinel) URL() string {
	var addrs []string
	for _, s := range st.Sentinels {
		addrs = append(addrs, s.Addr())
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + st.Name + "/0"
}

// MasterAddr returns the master's address as the first sentinel that
// answers names it.
func (st *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var err error
	for _, s := range st.Sentinels {
		if s.cmd == nil {
			continue
		}
		c := client(s.Addr())
		var addr []string
		addr, err = c.Do(ctx, "sentinel", "get-master-addr-by-name", st.Name).StringSlice()
		c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
	}
	return "", fmt.Errorf("no sentinel names the master: %v", err)
}

// inSync reports whether master's replica acknowledges a write.
func inSync(master *Server) error {
	c := client(master.Addr())
	defer c.Close()
	ctx := context.Background()
	// INFO's state=online is not enough: after a diskless sync the master
	// streams nothing to the replica until its first REPLCONF ACK, up to a
	// second later, and a WAIT in that second times out. A PUBLISH is
	// replicated without writing a key, so WAIT can tell when the stream
	// flows.
	if err := c.Publish(ctx, "redistest:sync", "").Err(); err != nil {
		return err
	}
	n, err := c.Do(ctx, "WAIT", 1, 200).Int()
	if err != nil {
		return err
	}
	if n < 1 {
		return errors.New("the replica does not acknowledge writes yet")
	}
	return nil
}

// Cluster is a Redis Cluster: masters, each with its replicas.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
}

// StartCluster starts masters×(1+replicas) cluster-enabled servers (node
// timeout 1 s), joins them with redis-cli --cluster create, and waits until
// every node reports the cluster ok and every replica is in sync.
func StartCluster(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	Require(t, "redis-server", "redis-cli")
	c := &Cluster{t: t}
	var addrs []string
	for range masters * (1 + replicas) {
		// The cluster bus listens on port+10000: both must be free.
		port := clusterPort(t)
		s := startServer(t, port, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000")
		c.Nodes = append(c.Nodes, s)
		addrs = append(addrs, s.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy()
	return c
}

// clusterPort returns a free port whose cluster bus port (+10000) is free.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := testproc.FreePort(t)
		if port+10000 > 65535 {
			continue
		}
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000)); err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// URL is the redis+cluster:// URL listing every node.
func (c *Cluster) URL() string {
	var addrs []string
	for _, s := range c.Nodes {
		addrs = append(addrs, s.Addr())
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// WaitHealthy waits until every running node says cluster_state:ok and
// sees no failing node among the running ones, and every running master
// has its replicas in sync.
func (c *Cluster) WaitHealthy() {
	c.t.Helper()
	for _, s := range c.Nodes {
		if s.cmd == nil {
			continue
		}
		cl := client(s.Addr())
		waitFor(c.t, "cluster ok", func() error {
			info, err := cl.ClusterInfo(context.Background()).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("node %s: cluster not ok", s.Addr())
			}
			role, err := cl.Do(context.Background(), "role").Slice()
			if err != nil {
				return err
			}
			if role[0] == "slave" && fmt.Sprint(role[3]) != "connected" {
				return fmt.Errorf("replica %s: %v", s.Addr(), role[3])
			}
			return nil
		})
		cl.Close()
	}
}

// MasterOf returns the running node that serves key's slot as a master.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Server, error) {
	for _, s := range c.Nodes {
		if s.cmd == nil {
			continue
		}
		cl := client(s.Addr())
		slot, err := cl.ClusterKeySlot(ctx, key).Result()
		var shards []redis.ClusterShard
		if err == nil {
			shards, err = cl.ClusterShards(ctx).Result()
		}
		cl.Close()
		if err != nil {
			continue
		}
		for _, sh := range shards {
			for _, r := range sh.Slots {
				if slot < r.Start || slot > r.End {
					continue
				}
				for _, node := range sh.Nodes {
					if node.Role != "master" {
						continue
					}
					for _, n := range c.Nodes {
						if int64(n.Port) == node.Port && n.cmd != nil {
							return n, nil
						}
					}
					return nil, fmt.Errorf("the master of slot %d, port %d, is not running", slot, node.Port)
				}
			}
		}
	}
	return nil, fmt.Errorf("no running node knows the slot of %q", key)
}
