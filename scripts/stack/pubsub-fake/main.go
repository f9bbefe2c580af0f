// Command pubsub-fake serves Google's in-memory Pub/Sub fake (pstest, from the Go client library) on
// one address, for hoptrace's test stack. Built and started by scripts/stack/pubsub.ts.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:38085", "host:port to listen on")
	flag.Parse()
	// Panics (exit 2) when the address cannot be bound.
	srv := pstest.NewServerWithAddress(*addr)
	fmt.Printf("pstest listening on %s\n", srv.Addr)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = srv.Close()
}
