// gocheck: Go runtime behaviours for tslinux's end-to-end tests, one per
// subcommand. Output is deterministic so runs compare byte for byte with
// native and qemu-aarch64 runs.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gocheck CASE [ARGS]")
		os.Exit(64)
	}
	cases := map[string]func([]string){
		"goroutines": goroutines,
		"channels":   channels,
		"select":     selectCase,
		"timers":     timers,
		"gomaxprocs": gomaxprocs,
		"files":      files,
		"exec":       execCase,
		"panic":      panicCase,
		"nilderef":   nilDeref,
		"gc":         gcCase,
		"spawn":      spawn,
		"sieve":      sieve,
		"env":        envCase,
		"httpself":   httpSelf,
		"tcpecho":    tcpEcho,
		"ifaces":     ifaces,
	}
	run, ok := cases[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "gocheck: unknown case %q\n", os.Args[1])
		os.Exit(64)
	}
	run(os.Args[2:])
}

// goroutines: a WaitGroup and a mutex over 100 goroutines.
func goroutines(_ []string) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := 1; i <= 100; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				mu.Lock()
				total += n
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	fmt.Println("total:", total, "expected:", 100*5050)
}

// channels: a pipeline of unbuffered and buffered channels.
func channels(_ []string) {
	gen := make(chan int)
	sq := make(chan int, 10)
	go func() {
		for i := 1; i <= 1000; i++ {
			gen <- i
		}
		close(gen)
	}()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range gen {
				sq <- v * v
			}
		}()
	}
	go func() { wg.Wait(); close(sq) }()
	sum := 0
	for v := range sq {
		sum += v
	}
	fmt.Println("sum of squares 1..1000:", sum)
}

// select: several channels, a default case and a timeout.
func selectCase(_ []string) {
	a, b := make(chan string), make(chan string)
	go func() {
		for i := 0; i < 3; i++ {
			a <- "a"
		}
	}()
	go func() {
		for i := 0; i < 3; i++ {
			b <- "b"
		}
	}()
	counts := map[string]int{}
	for i := 0; i < 6; i++ {
		select {
		case v := <-a:
			counts[v]++
		case v := <-b:
			counts[v]++
		}
	}
	fmt.Println("received a:", counts["a"], "b:", counts["b"])
	c := make(chan int)
	select {
	case <-c:
		fmt.Println("unexpected receive")
	default:
		fmt.Println("default taken")
	}
	select {
	case <-c:
		fmt.Println("unexpected receive")
	case <-time.After(20 * time.Millisecond):
		fmt.Println("timed out")
	}
}

// timers: time.Sleep, time.After and a ticker, checked against the monotonic clock.
func timers(_ []string) {
	start := time.Now()
	time.Sleep(30 * time.Millisecond)
	slept := time.Since(start)
	fmt.Println("slept at least 30ms:", slept >= 30*time.Millisecond)
	<-time.After(10 * time.Millisecond)
	t := time.NewTicker(5 * time.Millisecond)
	n := 0
	for range t.C {
		n++
		if n == 5 {
			break
		}
	}
	t.Stop()
	fmt.Println("ticks:", n, "elapsed at least 55ms:", time.Since(start) >= 55*time.Millisecond)
	timer := time.NewTimer(time.Hour)
	fmt.Println("stopped an hour timer:", timer.Stop())
}

// gomaxprocs N: the runtime runs with N Ps and work spread over them still adds up.
func gomaxprocs(args []string) {
	n := 4
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	runtime.GOMAXPROCS(n)
	var wg sync.WaitGroup
	results := make([]int, 4*n)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := 0
			for j := 0; j < 200000; j++ {
				s += j % (i + 1)
			}
			results[i] = s
		}(i)
	}
	wg.Wait()
	sum := 0
	for _, r := range results {
		sum += r
	}
	fmt.Println("GOMAXPROCS:", runtime.GOMAXPROCS(0), "goroutines:", len(results), "sum:", sum)
}

// files: os.WriteFile, ReadFile, ReadDir, Rename, Remove in the working directory.
func files(_ []string) {
	must(os.WriteFile("go-a.txt", []byte("hello from go\n"), 0o644))
	must(os.MkdirAll("go-dir/sub", 0o755))
	must(os.WriteFile("go-dir/sub/b.txt", []byte(strings.Repeat("x", 10000)), 0o600))
	data, err := os.ReadFile("go-a.txt")
	must(err)
	fmt.Printf("read %q\n", data)
	must(os.Rename("go-a.txt", "go-dir/a.txt"))
	entries, err := os.ReadDir("go-dir")
	must(err)
	var names []string
	for _, e := range entries {
		names = append(names, fmt.Sprintf("%s(dir=%v)", e.Name(), e.IsDir()))
	}
	sort.Strings(names)
	fmt.Println("entries:", strings.Join(names, " "))
	st, err := os.Stat("go-dir/sub/b.txt")
	must(err)
	fmt.Println("size:", st.Size(), "mode:", st.Mode())
	_, err = os.ReadFile("missing.txt")
	fmt.Println("missing is ErrNotExist:", errors.Is(err, os.ErrNotExist))
	must(os.RemoveAll("go-dir"))
	_, err = os.Stat("go-dir")
	fmt.Println("removed:", errors.Is(err, os.ErrNotExist))
}

// exec PROGRAM ARGS...: os/exec of another static binary, with its output and exit code.
func execCase(args []string) {
	if len(args) == 0 {
		args = []string{os.Args[0], "env"}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOCHECK_CHILD=1")
	out, err := cmd.Output()
	fmt.Printf("child said: %q\n", out)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		fmt.Println("child exit code:", ee.ExitCode())
	} else {
		fmt.Println("child error:", err)
	}
	err = exec.Command(os.Args[0], "nosuchcase").Run()
	if errors.As(err, &ee) {
		fmt.Println("failing child exit code:", ee.ExitCode())
	}
	_, err = exec.Command("/nonexistent/program").Output()
	fmt.Println("missing program:", err != nil)
}

func envCase(_ []string) {
	fmt.Println("GOCHECK_CHILD =", os.Getenv("GOCHECK_CHILD"))
	os.Exit(3)
}

// panic: an unrecovered panic prints a goroutine trace and exits 2.
func panicCase(_ []string) {
	fmt.Println("about to panic")
	var m map[string]int
	deepPanic(m, 3)
}

func deepPanic(m map[string]int, n int) {
	if n == 0 {
		panic(fmt.Sprintf("deliberate panic, map has %d entries", len(m)))
	}
	deepPanic(m, n-1)
}

// nilderef: a nil pointer dereference is a SIGSEGV the runtime turns into a recoverable panic.
func nilDeref(_ []string) {
	recovered := func() (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		var p *struct{ x int }
		return strconv.Itoa(p.x)
	}()
	fmt.Println("recovered:", recovered)
	debug.SetPanicOnFault(true)
	fmt.Println("still running")
}

// gc: allocation load with explicit collections; the live data stays intact.
func gcCase(_ []string) {
	keep := make([][]byte, 0, 64)
	for round := 0; round < 20; round++ {
		for i := 0; i < 2000; i++ {
			b := make([]byte, 1024+i%512)
			b[0] = byte(i)
			if i%500 == 0 {
				keep = append(keep, b)
			}
		}
		runtime.GC()
	}
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	ok := true
	for i, b := range keep {
		if b[0] != byte((i%4)*500) {
			ok = false
		}
	}
	fmt.Println("kept:", len(keep), "intact:", ok, "collections at least 20:", st.NumGC >= 20)
}

// spawn N: N goroutines that each send once.
func spawn(args []string) {
	n := 10000
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	var wg sync.WaitGroup
	ch := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ch <- i
		}(i)
	}
	wg.Wait()
	close(ch)
	sum := 0
	for v := range ch {
		sum += v
	}
	fmt.Println("goroutines:", n, "sum:", sum)
}

// sieve N: primes below N, CPU-bound.
func sieve(args []string) {
	n := 2000000
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	composite := make([]bool, n)
	count := 0
	for i := 2; i < n; i++ {
		if !composite[i] {
			count++
			for j := i * i; j < n; j += i {
				composite[j] = true
			}
		}
	}
	fmt.Println("primes below", n, ":", count)
}

func must(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

// httpself: an HTTP server on 127.0.0.1:0 and net/http fetching from it:
// a GET, a POST with a body, a 404, and 20 concurrent GETs on keep-alive
// connections.
func httpSelf(_ []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("name"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Length", strconv.Itoa(len(b)))
		w.Write([]byte(strings.ToUpper(string(b))))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		must(err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/hello?name=gopher")
	fmt.Printf("GET /hello: %d %q\n", code, body)
	resp, err := http.Post(base+"/echo", "text/plain", strings.NewReader(strings.Repeat("abc", 10000)))
	must(err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("POST /echo: %d, X-Length %s, %d bytes, prefix %q\n", resp.StatusCode, resp.Header.Get("X-Length"), len(b), string(b[:6]))
	code, _ = get("/missing")
	fmt.Printf("GET /missing: %d\n", code)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, body := get(fmt.Sprintf("/hello?name=%d", i))
			if c == 200 && body == fmt.Sprintf("hello %d", i) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	fmt.Printf("concurrent GETs: %d of 20 ok\n", ok)
	must(srv.Close())
}

// tcpecho: a TCP echo server and 50 concurrent client goroutines, each
// sending lines and checking the echoes.
func tcpEcho(args []string) {
	clients, lines := 50, 20
	if len(args) > 0 {
		clients, _ = strconv.Atoi(args[0])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				io.Copy(c, c)
			}(c)
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	good, bytes := 0, 0
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", ln.Addr().String())
			must(err)
			defer c.Close()
			r := bufio.NewReader(c)
			n := 0
			for j := 0; j < lines; j++ {
				msg := fmt.Sprintf("client %d line %d %s\n", i, j, strings.Repeat("x", i*10))
				_, err := c.Write([]byte(msg))
				must(err)
				got, err := r.ReadString('\n')
				must(err)
				if got == msg {
					n += len(got)
				}
			}
			mu.Lock()
			if n > 0 {
				good++
			}
			bytes += n
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	ln.Close()
	fmt.Printf("%d clients echoed %d bytes\n", good, bytes)
}

// ifaces: the network interfaces and addresses, as the runtime reads them
// over NETLINK_ROUTE (RTM_GETLINK and RTM_GETADDR dumps).
func ifaces(_ []string) {
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Println("interfaces:", err)
		os.Exit(1)
	}
	for _, i := range ifs {
		addrs, err := i.Addrs()
		fmt.Println(i.Index, i.Name, i.MTU, i.HardwareAddr, i.Flags, addrs, err)
	}
	all, err := net.InterfaceAddrs()
	fmt.Println("all:", all, err)
}
