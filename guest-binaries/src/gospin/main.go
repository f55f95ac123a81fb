// gospin: a goroutine spins with no function call, allocation or syscall
// while the main goroutine waits for five ticks of a 10 ms ticker, then
// stops it. With GOMAXPROCS 1 the ticker's goroutine gets the CPU only when
// the runtime pre-empts the spinner (sysmon, on its own thread, sends it
// SIGURG); with more, the spinner's thread and the ticker's run side by
// side. Either way, the emulator has to take the CPU away from a thread
// that never calls the kernel.
//
// usage: gospin GOMAXPROCS
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	procs := 1
	if len(os.Args) > 1 {
		procs, _ = strconv.Atoi(os.Args[1])
	}
	runtime.GOMAXPROCS(procs)
	fmt.Println("GOMAXPROCS", runtime.GOMAXPROCS(0))
	var stop atomic.Bool
	spins := make(chan uint64)
	go func() {
		n := uint64(0)
		for !stop.Load() {
			n++
		}
		spins <- n
	}()
	t := time.NewTicker(10 * time.Millisecond)
	for i := 1; i <= 5; i++ {
		<-t.C
		fmt.Println("tick", i)
	}
	t.Stop()
	stop.Store(true)
	fmt.Println("spinner stopped:", <-spins > 0)
}
