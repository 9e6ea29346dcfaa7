// Command roombridge runs the meeting-room booking bridge between the Seeyon OA and
// DingTalk: the web form and JSON API, the outbox dispatcher, the sync of both systems
// and the iCalendar feeds (serve, the default), plus the operator commands migrate,
// sync --once, verify and probe, and standalone fakes of both backends (fake-oa,
// fake-dingtalk). It is the only package that wires the others together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load on hosts without a zone database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "roombridge:", err)
		os.Exit(1)
	}
}

const usage = `usage: roombridge [command] [flags]

commands:
  serve          run the web server, dispatcher and sync (default)
  migrate        apply database migrations
  sync --once    run one sync pass of both backends and print its summary
  verify         check configuration, database, catalog and backends
  migrate-bookings [--dry-run] [--json]
                 list (and without --dry-run, move into DingTalk) every OA booking
                 dated on or after the cutover
  probe          check the adapters' assumptions against the real OA and DingTalk
                 [--write ROOM_ID: one booking round trip in each] [--json]
  fake-oa        serve an in-memory Seeyon OA (default --addr :9001)
  fake-dingtalk  serve an in-memory DingTalk (default --addr :9002)

Every ROOMBRIDGE_* variable can be given as a flag of the same name in kebab case,
e.g. ROOMBRIDGE_OA_URL as --oa-url. See README.md for the list.
`

// run is the whole program; main only supplies the process's context, arguments,
// environment and output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "fake-oa", "fake-dingtalk":
		return runFake(ctx, cmd, args, getenv, stdout, stderr)
	}
	once, dryRun, asJSON := false, false, false
	if cmd == "migrate-bookings" {
		var kept []string
		for _, a := range args {
			switch a {
			case "--dry-run", "-dry-run":
				dryRun = true
			case "--json", "-json":
				asJSON = true
			default:
				kept = append(kept, a)
			}
		}
		args = kept
	}
	if cmd == "sync" {
		var kept []string
		for _, a := range args {
			if a == "--once" || a == "-once" {
				once = true
				continue
			}
			kept = append(kept, a)
		}
		args = kept
	}
	var po probeOptions
	if cmd == "probe" {
		var err error
		if po, args, err = parseProbeArgs(args); err != nil {
			return err
		}
	}
	cfg, rest, err := loadConfig(args, getenv, time.Now())
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments %q", rest)
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, stdout, stderr)
	case "migrate":
		return migrate(ctx, cfg, stdout)
	case "sync":
		if !once {
			return fmt.Errorf("sync: only 'sync --once' is supported (the server syncs continuously)")
		}
		return syncOnce(ctx, cfg, stdout, stderr)
	case "verify":
		return verify(ctx, cfg, stdout, stderr)
	case "migrate-bookings":
		return migrateBookings(ctx, cfg, dryRun, asJSON, stdout, stderr)
	case "probe":
		return runProbe(ctx, cfg, po, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
