// Command erpflow streams ERP, bank and sales records through Kafka into
// ClickHouse. Sub-commands parse flags and call packages; the work is there.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/pipeline/config"
)

// Exit codes scripts can rely on.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors of the command line itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// openable is nil when the file a command names can be opened, else a
// usage error: a path that is wrong is the command line's mistake (exit
// 2); what is wrong inside the file is a failure (exit 1).
func openable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("%v", err)
	}
	return f.Close()
}

// negativeValue finds the argument of pflag's "unknown shorthand flag: '5'
// in -5" when it reads as a number.
var negativeValue = regexp.MustCompile(`unknown shorthand flag: '.' in (-[0-9.][0-9.,]*)$`)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "erpflow:", err)
	var ue usageError
	// cobra reports an unknown sub-command of the root as a plain error.
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintln(os.Stderr, "Run 'erpflow --help' for usage.")
		os.Exit(exitUsage)
	}
	os.Exit(exitFailure)
}

// globals are the flags every sub-command shares.
type globals struct {
	configPath string
	logLevel   string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "erpflow",
		Short: "Stream ERP, bank and sales records through Kafka into ClickHouse",
		Long: `erpflow collects invoices, payments, bank statement lines, orders, shipments,
expense claims and approvals from Kafka topics, checks them against the
canonical model, and lands them in ClickHouse for payment analysis.

Exit codes: 0 done, 1 failure, 2 usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "configuration file (default: built-in defaults)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "override log.level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// pflag takes a value such as -5 or -1.5 for a cluster of
		// one-letter flags; negative amounts are common in finance.
		if m := negativeValue.FindStringSubmatch(err.Error()); m != nil {
			err = fmt.Errorf("%w (a negative value? put -- before the values: %s -- %s)", err, c.CommandPath(), m[1])
		}
		return usageError{err}
	})
	// cobra's own help command answers an unknown topic with exit 0.
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, a []string) error {
			cmd, rest, err := c.Root().Find(a)
			if err != nil || len(rest) > 0 || len(a) > 0 && cmd == c.Root() {
				return usagef("no help for %q: not a command", strings.Join(a, " "))
			}
			return cmd.Help()
		},
	})
	root.AddCommand(newGenerate(), newBroker(g), newProduce(g), newRun(g), newMigrate(g),
		newClickHouse(), newConfig(), newDLQ(g), newDemo(g), newBench(g), newClean(), newMapping(), newRecon(g))
	return root
}

// group makes a command that only holds sub-commands: called bare or with
// an unknown sub-command it prints help and is a usage error (cobra would
// print help and exit 0).
func group(c *cobra.Command) *cobra.Command {
	c.Args = args(cobra.NoArgs)
	c.RunE = func(cmd *cobra.Command, a []string) error {
		// On stderr: a usage error's help is a diagnostic, not output
		// a script would read.
		cmd.SetOut(cmd.ErrOrStderr())
		cmd.Help()
		return usagef("%s needs a sub-command", cmd.CommandPath())
	}
	return c
}

// args wraps a cobra argument check so its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// load reads the configuration: defaults, then the file, then the
// environment; callers apply their flags last.
func (g *globals) load() (config.Config, error) {
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return cfg, err
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
		if err := cfg.Check(); err != nil {
			return cfg, usageError{err}
		}
	}
	return cfg, nil
}

// logger builds the structured log on stderr.
func logger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
